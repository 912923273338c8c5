package ledger

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// conversion is what an offer operation does to an agent's resources:
// consumed is replaced by produced (unreserved cpus by reserved cpus, reserved
// disk by a persistent volume, and back).
type conversion struct {
	consumed, produced resources.Resources
}

// requester is who asks for an operation: a framework (its roles, its
// principal and the role its offer was allocated to) or an operator (no
// roles: any valid role; the principal from the request).
type requester struct {
	roles        []string
	allocRole    string
	principal    string
	operator     bool
	anyPrincipal bool // an operator without authentication
}

// kind names an operation in messages: "RESERVE", "CREATE".
type opKind string

const (
	opReserve   opKind = "RESERVE"
	opUnreserve opKind = "UNRESERVE"
	opCreate    opKind = "CREATE"
	opDestroy   opKind = "DESTROY"
)

// convert validates an operation of the given kind on res against the
// resources the requester may use on the agent (available: the offered
// resources left, or the agent's free resources for an operator) and returns
// its conversion. The error says what is wrong, in the words of the field.
func (a *agent) convert(kind opKind, res resources.Resources, who requester, available resources.Resources) (conversion, error) {
	field := "resources"
	if kind == opCreate || kind == opDestroy {
		field = "volumes"
	}
	if res.IsEmpty() {
		return conversion{}, fmt.Errorf("%s: no %s given", kind, field)
	}
	var c conversion
	var err error
	switch kind {
	case opReserve:
		c, err = reserve(res, who)
	case opUnreserve:
		c, err = unreserve(res)
	case opCreate:
		c, err = a.create(res, who)
	case opDestroy:
		c, err = a.destroy(res)
	}
	if err != nil {
		return conversion{}, fmt.Errorf("%s: %s: %w", kind, field, err)
	}
	if !available.Contains(c.consumed) {
		return conversion{}, fmt.Errorf("%s: %s: %w", kind, field, &conflictError{fmt.Sprintf("needs %s, which is not available (available: %s)", c.consumed, available)})
	}
	return c, nil
}

func reserve(res resources.Resources, who requester) (conversion, error) {
	for r := range res.Each {
		switch {
		case !r.IsDynamicallyReserved():
			return conversion{}, fmt.Errorf("%s is not dynamically reserved: its last reservation must be DYNAMIC", r)
		case r.IsPersistentVolume():
			return conversion{}, fmt.Errorf("%s is a persistent volume and cannot be reserved", r)
		}
		last := r.Stack()[len(r.Stack())-1]
		if !who.anyPrincipal && last.Principal != who.principal {
			return conversion{}, fmt.Errorf("%s: reservation principal %q does not match the requester's principal %q", r, last.Principal, who.principal)
		}
		if !who.operator {
			if !slices.Contains(who.roles, r.Role) {
				return conversion{}, fmt.Errorf("%s: role %q is not a role of the framework", r, r.Role)
			}
			if who.allocRole != "" && who.allocRole != r.Role {
				return conversion{}, fmt.Errorf("%s: cannot reserve for role %q resources allocated to role %q", r, r.Role, who.allocRole)
			}
		}
	}
	return conversion{consumed: res.PopReservation(), produced: res}, nil
}

func unreserve(res resources.Resources) (conversion, error) {
	for r := range res.Each {
		switch {
		case r.IsPersistentVolume():
			return conversion{}, fmt.Errorf("%s is a persistent volume: DESTROY it before unreserving its disk", r)
		case !r.IsDynamicallyReserved():
			return conversion{}, fmt.Errorf("%s is not dynamically reserved: only dynamic reservations can be unreserved", r)
		}
	}
	return conversion{consumed: res, produced: res.PopReservation()}, nil
}

func (a *agent) create(vols resources.Resources, who requester) (conversion, error) {
	ids := map[string]bool{} // role/id of the volumes in this operation
	for r := range vols.Each {
		switch {
		case !r.IsPersistentVolume():
			return conversion{}, fmt.Errorf("%s is not a persistent volume: disk.persistence and disk.volume must be set", r)
		case r.Role == resources.Unreserved:
			return conversion{}, fmt.Errorf("%s: persistent volumes cannot be created from unreserved disk; RESERVE it first", r)
		case !who.anyPrincipal && r.Volume.Principal != "" && r.Volume.Principal != who.principal:
			return conversion{}, fmt.Errorf("%s: disk.persistence.principal %q does not match the requester's principal %q", r, r.Volume.Principal, who.principal)
		}
		key := r.Role + "/" + r.Volume.ID
		if ids[key] {
			return conversion{}, fmt.Errorf("persistence id %q is given twice for role %q", r.Volume.ID, r.Role)
		}
		ids[key] = true
		if a.hasVolume(r.Role, r.Volume.ID) {
			return conversion{}, &conflictError{fmt.Sprintf("persistence id %q is already in use for role %q on agent %s", r.Volume.ID, r.Role, a.id)}
		}
	}
	return conversion{consumed: vols.WithoutVolumes(), produced: vols}, nil
}

func (a *agent) destroy(vols resources.Resources) (conversion, error) {
	for r := range vols.Each {
		switch {
		case !r.IsPersistentVolume():
			return conversion{}, fmt.Errorf("%s is not a persistent volume", r)
		case !a.total.Contains(resources.Of(r)):
			return conversion{}, fmt.Errorf("persistent volume %q (role %q) does not exist on agent %s", r.Volume.ID, r.Role, a.id)
		}
		if user := a.volumeUser(r.Role, r.Volume.ID); user != "" {
			return conversion{}, &conflictError{fmt.Sprintf("persistent volume %q is in use by %s", r.Volume.ID, user)}
		}
	}
	return conversion{consumed: vols, produced: vols.WithoutVolumes()}, nil
}

// hasVolume reports whether the agent has a persistent volume with id for role.
func (a *agent) hasVolume(role, id string) bool {
	for r := range a.total.PersistentVolumes().Each {
		if r.Role == role && r.Volume.ID == id {
			return true
		}
	}
	return false
}

// volumeUser names a task or executor on the agent that uses the volume, or
// returns "".
func (a *agent) volumeUser(role, id string) string {
	uses := func(res resources.Resources) bool {
		for r := range res.PersistentVolumes().Each {
			if r.Role == role && r.Volume.ID == id {
				return true
			}
		}
		return false
	}
	for _, t := range sortedValues(a.tasks) {
		if !t.recovered && !t.pb.GetState().IsTerminal() && uses(t.res) {
			return fmt.Sprintf("task %s of framework %s", t.id, t.frameworkID)
		}
	}
	for _, fwID := range slices.Sorted(maps.Keys(a.executors)) {
		for _, execID := range slices.Sorted(maps.Keys(a.executors[fwID])) {
			if uses(a.executors[fwID][execID].res) {
				return fmt.Sprintf("executor %s of framework %s", execID, fwID)
			}
		}
	}
	return ""
}

// applyConversion changes the agent's total, records it for the registry and
// tells the agent its checkpointed resources.
func (l *Ledger) applyConversion(a *agent, c conversion) {
	a.total = a.total.Minus(c.consumed).Plus(c.produced)
	a.info.Resources = a.total.ToProto()
	l.dirty.markAgent(a.id)
	a.send(checkpointEvent(a.total))
}

func checkpointEvent(total resources.Resources) *agorapb.AgentEvent {
	return &agorapb.AgentEvent{
		Type:                agorapb.AgentEvent_CHECKPOINT_RESOURCES.Enum(),
		CheckpointResources: &agorapb.AgentEvent_CheckpointResources{Resources: total.Checkpointed().ToProto()},
	}
}

// operationResources reads an offer operation's resources: RESERVE's and
// UNRESERVE's resources, CREATE's and DESTROY's volumes.
func operationResources(op *mesos.Offer_Operation) (opKind, []*mesos.Resource, bool) {
	switch op.GetType() {
	case mesos.Offer_Operation_RESERVE:
		return opReserve, op.GetReserve().GetResources(), true
	case mesos.Offer_Operation_UNRESERVE:
		return opUnreserve, op.GetUnreserve().GetResources(), true
	case mesos.Offer_Operation_CREATE:
		return opCreate, op.GetCreate().GetVolumes(), true
	case mesos.Offer_Operation_DESTROY:
		return opDestroy, op.GetDestroy().GetVolumes(), true
	}
	return "", nil, false
}

// applyOffered carries out a RESERVE, UNRESERVE, CREATE or DESTROY of an
// ACCEPT against the offered resources left; it returns them converted, or
// unchanged with the error that dropped the operation.
func (c frameworkCall) applyOffered(a *agent, kind opKind, pbs []*mesos.Resource, allocRole string, remaining resources.Resources) (resources.Resources, error) {
	res, err := parseResources(pbs)
	if err != nil {
		field := "resources"
		if kind == opCreate || kind == opDestroy {
			field = "volumes"
		}
		return remaining, fmt.Errorf("%s: %s: %v", kind, field, err)
	}
	who := requester{roles: c.fw.roles, allocRole: allocRole, principal: c.fw.info.GetPrincipal()}
	conv, err := a.convert(kind, res, who, remaining)
	if err != nil {
		return remaining, err
	}
	c.l.alloc.UpdateAllocation(c.fw.id, a.id, allocRole, conv.consumed, conv.produced)
	c.l.applyConversion(a, conv)
	return remaining.Minus(conv.consumed).Plus(conv.produced), nil
}

func operationStatus(op *mesos.Offer_Operation, agentID string, state mesos.OperationState, msg string) *mesos.OperationStatus {
	st := &mesos.OperationStatus{OperationId: op.Id, State: state.Enum(), AgentId: agentIDpb(agentID)}
	if msg != "" {
		st.Message = proto.String(msg)
	}
	return st
}

// conflictError marks an operation that is valid but cannot be carried out in
// the cluster's state (resources not free, a volume in use, an id taken): an
// operator gets 409 for it, 400 for the rest.
type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }

// OperatorOperation carries out an operator's RESERVE_RESOURCES,
// UNRESERVE_RESOURCES, CREATE_VOLUMES or DESTROY_VOLUMES (and the /reserve,
// /unreserve, /create-volumes and /destroy-volumes endpoints) on an agent's free
// resources, rescinding the agent's offers when they hold what is needed, as
// Mesos does. kind is "RESERVE", "UNRESERVE", "CREATE" or "DESTROY". principal
// is the operator's authenticated principal; "" (no authentication) accepts
// the principal the resources name. A rejected operation changes nothing and
// returns an error matching ErrInvalid (bad input, an unknown agent as in
// Mesos) or ErrConflict (valid, but not possible now).
func (l *Ledger) OperatorOperation(kind, agentID string, pbs []*mesos.Resource, principal string) error {
	op := opKind(kind)
	field := "resources"
	switch op {
	case opReserve, opUnreserve:
	case opCreate, opDestroy:
		field = "volumes"
	default:
		return badRequest("unknown operation %q", kind)
	}
	if agentID == "" {
		return badRequest("agent_id: must be set")
	}
	a := l.agents[agentID]
	if a == nil {
		return badRequest("agent_id: no agent found with ID %s", agentID)
	}
	if a.state != agentActive {
		return &callError{kind: ErrConflict, msg: fmt.Sprintf("agent_id: agent %s is %s, not connected", agentID, a.state)}
	}
	res, err := parseResources(pbs)
	if err != nil {
		return badRequest("%s: %s: %v", op, field, err)
	}
	var used, offered resources.Resources
	for _, r := range a.usedByFramework() {
		used = used.Plus(r)
	}
	for _, o := range a.offers {
		offered = offered.Plus(o.res)
	}
	free := a.total.Minus(used)
	who := requester{principal: principal, operator: true, anyPrincipal: principal == ""}
	conv, err := a.convert(op, res, who, free)
	if err != nil {
		var conflict *conflictError
		if errors.As(err, &conflict) {
			return &callError{kind: ErrConflict, msg: err.Error()}
		}
		return badRequest("%s", err.Error())
	}
	if !free.Minus(offered).Contains(conv.consumed) {
		for _, o := range sortedValues(a.offers) {
			l.removeOffer(o, 0, true)
		}
	}
	l.alloc.UpdateAgentResources(a.id, conv.consumed, conv.produced)
	l.applyConversion(a, conv)
	l.note(zapcore.InfoLevel, "applied operator operation", zap.String("agent_id", a.id), zap.String("operation", kind))
	l.requestAllocation()
	return nil
}
