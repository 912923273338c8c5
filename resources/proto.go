package resources

import (
	"encoding/json"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// FromProto converts Mesos Resource messages of type SCALAR, RANGES or SET
// into Resources. The role is the last entry of reservations (the
// post-refinement format) or, without reservations, the legacy role field
// ("*" when unset). Entries that add up to nothing are dropped.
func FromProto(pbs []*mesos.Resource) (Resources, error) {
	out := make([]Resource, 0, len(pbs))
	for i, pb := range pbs {
		r, err := fromProto(pb)
		if err != nil {
			return Resources{}, fmt.Errorf("resources: resource %d (%q): %w", i, pb.GetName(), err)
		}
		if !r.IsEmpty() {
			out = append(out, r)
		}
	}
	return fromUnsorted(out), nil
}

func fromProto(pb *mesos.Resource) (Resource, error) {
	if pb == nil {
		return Resource{}, fmt.Errorf("nil resource")
	}
	if err := validateName(pb.GetName()); err != nil {
		return Resource{}, err
	}
	r := Resource{Name: pb.GetName(), Role: pb.GetRole()}
	if res := pb.GetReservations(); len(res) > 0 {
		r.Role = res[len(res)-1].GetRole()
	}
	if err := validateRole(r.Role); err != nil {
		return Resource{}, fmt.Errorf("invalid role: %w", err)
	}
	switch pb.GetType() {
	case mesos.Value_SCALAR:
		if pb.Scalar == nil {
			return Resource{}, fmt.Errorf("SCALAR resource without scalar value")
		}
		v := pb.GetScalar().GetValue()
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			return Resource{}, fmt.Errorf("invalid scalar value %v", v)
		case v < 0:
			return Resource{}, fmt.Errorf("negative scalar value %v", v)
		case v > maxScalarFloat:
			return Resource{}, fmt.Errorf("scalar value %v too large", v)
		}
		r.Type, r.Scalar = ScalarType, ScalarFromFloat(v)
	case mesos.Value_RANGES:
		rs := make(Ranges, 0, len(pb.GetRanges().GetRange()))
		for _, x := range pb.GetRanges().GetRange() {
			if x.GetEnd() < x.GetBegin() {
				return Resource{}, fmt.Errorf("range [%d-%d]: end is below begin", x.GetBegin(), x.GetEnd())
			}
			rs = append(rs, Range{Begin: x.GetBegin(), End: x.GetEnd()})
		}
		r.Type, r.Ranges = RangesType, rs.normalize()
	case mesos.Value_SET:
		items := append([]string(nil), pb.GetSet().GetItem()...)
		for _, it := range items {
			if err := validateSetItem(it); err != nil {
				return Resource{}, fmt.Errorf("invalid set value: %w", err)
			}
		}
		r.Type, r.Set = SetType, normalizeSet(items)
	default:
		return Resource{}, fmt.Errorf("unsupported resource type %s", pb.GetType())
	}
	return r, nil
}

// ToProto converts a to Mesos Resource messages. Reserved entries carry
// reservations [{type: STATIC, role}] and, for pre-refinement clients, the
// legacy role field.
func (a Resources) ToProto() []*mesos.Resource {
	out := make([]*mesos.Resource, len(a.rs))
	for i := range a.rs {
		out[i] = a.rs[i].ToProto()
	}
	return out
}

// ToProtoAllocated is ToProto with allocation_info.role set to role, as Mesos
// does for the resources of offers and tasks of MULTI_ROLE frameworks.
func (a Resources) ToProtoAllocated(role string) []*mesos.Resource {
	out := a.ToProto()
	for _, pb := range out {
		pb.AllocationInfo = &mesos.Resource_AllocationInfo{Role: proto.String(role)}
	}
	return out
}

// ToProto converts r to a Mesos Resource message.
func (r Resource) ToProto() *mesos.Resource {
	pb := &mesos.Resource{Name: proto.String(r.Name)}
	switch r.Type {
	case ScalarType:
		pb.Type = mesos.Value_SCALAR.Enum()
		pb.Scalar = &mesos.Value_Scalar{Value: proto.Float64(r.Scalar.Float64())}
	case RangesType:
		pb.Type = mesos.Value_RANGES.Enum()
		rs := make([]*mesos.Value_Range, len(r.Ranges))
		for i, x := range r.Ranges {
			rs[i] = &mesos.Value_Range{Begin: proto.Uint64(x.Begin), End: proto.Uint64(x.End)}
		}
		pb.Ranges = &mesos.Value_Ranges{Range: rs}
	case SetType:
		pb.Type = mesos.Value_SET.Enum()
		pb.Set = &mesos.Value_Set{Item: append([]string(nil), r.Set...)}
	}
	if r.Role != Unreserved && r.Role != "" {
		pb.Role = proto.String(r.Role)
		pb.Reservations = []*mesos.Resource_ReservationInfo{{
			Type: mesos.Resource_ReservationInfo_STATIC.Enum(),
			Role: proto.String(r.Role),
		}}
	}
	return pb
}

// parseJSON reads a JSON array of Mesos Resource messages.
func parseJSON(text, defaultRole string) (Resources, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return Resources{}, fmt.Errorf("resources: invalid JSON: %w", err)
	}
	opts := protojson.UnmarshalOptions{DiscardUnknown: true}
	pbs := make([]*mesos.Resource, len(raw))
	for i, m := range raw {
		pb := &mesos.Resource{}
		if err := opts.Unmarshal(m, pb); err != nil {
			return Resources{}, fmt.Errorf("resources: JSON resource %d: %w", i, err)
		}
		if pb.Role == nil && len(pb.GetReservations()) == 0 {
			pb.Role = proto.String(defaultRole)
		}
		pbs[i] = pb
	}
	return FromProto(pbs)
}
