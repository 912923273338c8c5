package resources

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode"

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
	if err := validateRole(r.Role); err != nil {
		return Resource{}, fmt.Errorf("invalid role: %w", err)
	}
	stack, err := stackFromProto(pb)
	if err != nil {
		return Resource{}, err
	}
	if n := len(stack); n > 0 {
		r.Role = stack[n-1].Role
	}
	r.Reservations = normalizeStack(stack, r.Role)
	if r.Volume, err = volumeFromProto(pb); err != nil {
		return Resource{}, err
	}
	if pb.Shared != nil {
		return Resource{}, fmt.Errorf("shared resources are not supported")
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
		for _, res := range r.Stack() {
			info := &mesos.Resource_ReservationInfo{
				Type: mesos.Resource_ReservationInfo_STATIC.Enum(),
				Role: proto.String(res.Role),
			}
			if res.Type == DynamicReservation {
				info.Type = mesos.Resource_ReservationInfo_DYNAMIC.Enum()
			}
			if res.Principal != "" {
				info.Principal = proto.String(res.Principal)
			}
			if len(res.Labels) > 0 {
				info.Labels = &mesos.Labels{}
				for _, l := range res.Labels {
					info.Labels.Labels = append(info.Labels.Labels, &mesos.Label{Key: proto.String(l.Key), Value: proto.String(l.Value)})
				}
			}
			pb.Reservations = append(pb.Reservations, info)
		}
	}
	if v := r.Volume; v != nil {
		mode := mesos.Volume_RW
		if v.ReadOnly {
			mode = mesos.Volume_RO
		}
		pb.Disk = &mesos.Resource_DiskInfo{
			Persistence: &mesos.Resource_DiskInfo_Persistence{Id: proto.String(v.ID)},
			Volume:      &mesos.Volume{ContainerPath: proto.String(v.ContainerPath), Mode: mode.Enum()},
		}
		if v.Principal != "" {
			pb.Disk.Persistence.Principal = proto.String(v.Principal)
		}
	}
	return pb
}

// stackFromProto reads the reservation stack: the reservations field (the
// post-refinement format), or the legacy role and reservation fields (a
// DYNAMIC reservation when reservation is set, else STATIC).
func stackFromProto(pb *mesos.Resource) ([]Reservation, error) {
	infos := pb.GetReservations()
	if len(infos) == 0 {
		role := pb.GetRole()
		if role == Unreserved || role == "" {
			if pb.Reservation != nil {
				return nil, fmt.Errorf("reservation: set on an unreserved resource")
			}
			return nil, nil
		}
		legacy := &mesos.Resource_ReservationInfo{Type: mesos.Resource_ReservationInfo_STATIC.Enum(), Role: proto.String(role)}
		if pb.Reservation != nil {
			legacy = proto.Clone(pb.Reservation).(*mesos.Resource_ReservationInfo)
			legacy.Type, legacy.Role = mesos.Resource_ReservationInfo_DYNAMIC.Enum(), proto.String(role)
		}
		infos = []*mesos.Resource_ReservationInfo{legacy}
	} else if pb.Role != nil && pb.GetRole() != Unreserved && pb.GetRole() != infos[len(infos)-1].GetRole() {
		return nil, fmt.Errorf("role %q differs from the last reservation's role %q", pb.GetRole(), infos[len(infos)-1].GetRole())
	}
	stack := make([]Reservation, len(infos))
	for i, info := range infos {
		res := Reservation{Role: info.GetRole(), Principal: info.GetPrincipal()}
		switch info.GetType() {
		case mesos.Resource_ReservationInfo_STATIC:
			res.Type = StaticReservation
		case mesos.Resource_ReservationInfo_DYNAMIC:
			res.Type = DynamicReservation
		default: // unset: as the position allows (only the first may be STATIC)
			res.Type = StaticReservation
			if i > 0 {
				res.Type = DynamicReservation
			}
		}
		for _, l := range info.GetLabels().GetLabels() {
			res.Labels = append(res.Labels, Label{Key: l.GetKey(), Value: l.GetValue()})
		}
		stack[i] = res
	}
	if err := validateStack(stack); err != nil {
		return nil, fmt.Errorf("reservations: %w", err)
	}
	return stack, nil
}

// volumeFromProto reads disk.persistence and disk.volume. Only persistent
// volumes on the agent's default disk are supported: a disk source is
// refused rather than ignored.
func volumeFromProto(pb *mesos.Resource) (*Volume, error) {
	d := pb.GetDisk()
	switch {
	case d == nil:
		return nil, nil
	case pb.GetName() != "disk":
		return nil, fmt.Errorf("disk: DiskInfo is only valid on \"disk\" resources")
	case d.Source != nil:
		return nil, fmt.Errorf("disk.source: disk sources are not supported")
	case d.Persistence == nil && d.Volume != nil:
		return nil, fmt.Errorf("disk.volume: only valid with disk.persistence")
	case d.Persistence == nil:
		return nil, nil
	case d.GetPersistence().GetId() == "":
		return nil, fmt.Errorf("disk.persistence.id: must not be empty")
	case d.Volume == nil:
		return nil, fmt.Errorf("disk.volume: a persistent volume needs a volume")
	case d.GetVolume().GetHostPath() != "" || d.GetVolume().Image != nil || d.GetVolume().Source != nil:
		return nil, fmt.Errorf("disk.volume: host_path, image and source must not be set on a persistent volume")
	}
	id, path := d.GetPersistence().GetId(), d.GetVolume().GetContainerPath()
	if err := validateVolumeID(id); err != nil {
		return nil, fmt.Errorf("disk.persistence.id: %w", err)
	}
	if err := validateContainerPath(path); err != nil {
		return nil, fmt.Errorf("disk.volume.container_path: %w", err)
	}
	return &Volume{
		ID:            id,
		Principal:     d.GetPersistence().GetPrincipal(),
		ContainerPath: path,
		ReadOnly:      d.GetVolume().GetMode() == mesos.Volume_RO,
	}, nil
}

// validateVolumeID checks a persistence id as Mesos does (it names a
// directory): no '/', no whitespace or control characters, not "." or "..".
func validateVolumeID(id string) error {
	if id == "." || id == ".." {
		return fmt.Errorf("%q is not a valid id", id)
	}
	for _, c := range id {
		if c == '/' || c == '\\' || unicode.IsSpace(c) || !unicode.IsPrint(c) {
			return fmt.Errorf("invalid character %q in %q", c, id)
		}
	}
	return nil
}

// validateContainerPath checks that a volume's container path is a relative
// path inside the sandbox: not empty, not absolute, no ".." segment.
func validateContainerPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("must not be empty")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q: absolute paths are not supported, give a path relative to the sandbox", p)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return fmt.Errorf("%q must not contain a \"..\" segment", p)
		}
	}
	return nil
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
