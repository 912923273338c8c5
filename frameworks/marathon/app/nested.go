package app

import "encoding/json"

// The UnmarshalJSON methods below fill in Marathon's defaults for nested
// objects: fields that the JSON leaves out keep the default value.

// UnmarshalJSON applies extract=true, Marathon's default.
func (a *Artifact) UnmarshalJSON(b []byte) error {
	type plain Artifact
	v := plain{Extract: true}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*a = Artifact(v)
	return nil
}

// UnmarshalJSON applies protocol "tcp".
func (p *PortMapping) UnmarshalJSON(b []byte) error {
	type plain PortMapping
	v := plain{Protocol: "tcp"}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = PortMapping(v)
	return nil
}

// UnmarshalJSON applies protocol "tcp".
func (p *PortDefinition) UnmarshalJSON(b []byte) error {
	type plain PortDefinition
	v := plain{Protocol: "tcp"}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = PortDefinition(v)
	return nil
}

// UnmarshalJSON applies mode "container", the RAML default.
func (n *Network) UnmarshalJSON(b []byte) error {
	type plain Network
	v := plain{Mode: NetworkContainer}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*n = Network(v)
	return nil
}

// UnmarshalJSON applies both capacities' default of 1.
func (u *UpgradeStrategy) UnmarshalJSON(b []byte) error {
	type plain UpgradeStrategy
	v := plain{MinimumHealthCapacity: DefaultMinimumHealthCapacity, MaximumOverCapacity: DefaultMaximumOverCapacity}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*u = UpgradeStrategy(v)
	return nil
}

// UnmarshalJSON applies Marathon's health check defaults.
func (h *HealthCheck) UnmarshalJSON(b []byte) error {
	type plain HealthCheck
	v := plain{
		Protocol:               "HTTP",
		GracePeriodSeconds:     300,
		IntervalSeconds:        60,
		TimeoutSeconds:         20,
		MaxConsecutiveFailures: 3,
		DelaySeconds:           15,
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*h = HealthCheck(v)
	return nil
}

// UnmarshalJSON applies Marathon's readiness check defaults.
func (r *ReadinessCheck) UnmarshalJSON(b []byte) error {
	type plain ReadinessCheck
	v := plain{
		Name:            "readinessCheck",
		Protocol:        "HTTP",
		Path:            "/",
		IntervalSeconds: 30,
		TimeoutSeconds:  10,
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.HTTPStatusCodesForReady == nil {
		v.HTTPStatusCodesForReady = []int{200}
	}
	*r = ReadinessCheck(v)
	return nil
}
