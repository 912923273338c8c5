package lb

import (
	"encoding/json"
	"fmt"
)

// App is what the LB reads of a Marathon app from /v2/apps?embed=apps.tasks.
type App struct {
	ID              string            `json:"id"`
	Labels          map[string]string `json:"labels"`
	PortDefinitions []PortDefinition  `json:"portDefinitions"`
	Container       *Container        `json:"container"`
	HealthChecks    []json.RawMessage `json:"healthChecks"`
	Tasks           []Task            `json:"tasks"`
}

// PortDefinition is one of an app's ports; Port is its service port (0: none).
type PortDefinition struct {
	Port int    `json:"port"`
	Name string `json:"name,omitempty"`
}

// Container is the part of an app's container the LB reads: its port mappings, whose
// servicePorts take the place of portDefinitions when there are any.
type Container struct {
	PortMappings []PortMapping `json:"portMappings"`
}

// PortMapping is one port mapping of a container; ServicePort is its service port.
type PortMapping struct {
	ServicePort int `json:"servicePort"`
}

// Task is one task of an app as /v2/apps?embed=apps.tasks lists it.
type Task struct {
	ID                 string         `json:"id"`
	AppID              string         `json:"appId"`
	Host               string         `json:"host"`
	Ports              []int          `json:"ports"`
	State              string         `json:"state"`
	HealthCheckResults []HealthResult `json:"healthCheckResults"`
}

// HealthResult is one health check's latest result of a task.
type HealthResult struct {
	Alive bool `json:"alive"`
}

// ServicePorts are the app's service ports by port index: the container's port mappings'
// when it has any, otherwise the port definitions'.
func (a *App) ServicePorts() []int {
	var out []int
	if a.Container != nil && len(a.Container.PortMappings) > 0 {
		for _, pm := range a.Container.PortMappings {
			out = append(out, pm.ServicePort)
		}
		return out
	}
	for _, pd := range a.PortDefinitions {
		out = append(out, pd.Port)
	}
	return out
}

// DecodeApps decodes the body of GET /v2/apps?embed=apps.tasks.
func DecodeApps(body []byte) ([]App, error) {
	var out struct {
		Apps *[]App `json:"apps"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("lb: decode apps: %w", err)
	}
	if out.Apps == nil {
		return nil, fmt.Errorf("lb: decode apps: no \"apps\" field")
	}
	return *out.Apps, nil
}

// Event is the part of a Marathon event the LB reads. Type is the SSE event name (the
// event's eventType).
type Event struct {
	Type       string `json:"eventType"`
	TaskID     string `json:"taskId"`
	AppID      string `json:"appId"`
	TaskStatus string `json:"taskStatus"`
	Host       string `json:"host"`
	Ports      []int  `json:"ports"`
}

// DecodeEvent decodes one SSE event: its name and its data (JSON). A data field without an
// eventType takes the SSE name.
func DecodeEvent(name string, data []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return Event{}, fmt.Errorf("lb: decode %s event: %w", name, err)
	}
	if name != "" {
		ev.Type = name
	}
	return ev, nil
}
