package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/agoracluster/agora/master/ledger"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/security/acl"
)

// Dynamic reservations and persistent volumes from the operator: the v1 calls
// RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES and DESTROY_VOLUMES and
// Mesos's form-encoded endpoints /reserve, /unreserve, /create-volumes and
// /destroy-volumes (fields slaveId and resources or volumes, a JSON array of
// Resource). Both answer 202 Accepted, as Mesos does: the master has converted
// the agent's resources and checkpoints them to the agent.

// noContentStatus is the status of an operator call answered without a body.
func noContentStatus(t masterpb.Call_Type) int {
	switch t {
	case masterpb.Call_RESERVE_RESOURCES, masterpb.Call_UNRESERVE_RESOURCES,
		masterpb.Call_CREATE_VOLUMES, masterpb.Call_DESTROY_VOLUMES:
		return http.StatusAccepted
	}
	return http.StatusOK
}

// operatorOperation runs one of the four calls on the ledger. No operator
// authentication is built, so the principal the resources name is recorded as
// given.
func (s *Server) operatorOperation(l *ledger.Ledger, call *masterpb.Call, principal string) error {
	var kind, agentID string
	var rs []*mesos.Resource
	switch call.GetType() {
	case masterpb.Call_RESERVE_RESOURCES:
		rr := call.GetReserveResources()
		if len(rr.GetSource()) > 0 {
			return inputError("reserve_resources.source: changing an existing reservation is not supported; UNRESERVE_RESOURCES first")
		}
		kind, agentID, rs = "RESERVE", rr.GetAgentId().GetValue(), rr.GetResources()
	case masterpb.Call_UNRESERVE_RESOURCES:
		u := call.GetUnreserveResources()
		kind, agentID, rs = "UNRESERVE", u.GetAgentId().GetValue(), u.GetResources()
	case masterpb.Call_CREATE_VOLUMES:
		c := call.GetCreateVolumes()
		kind, agentID, rs = "CREATE", c.GetAgentId().GetValue(), c.GetVolumes()
	default:
		d := call.GetDestroyVolumes()
		kind, agentID, rs = "DESTROY", d.GetAgentId().GetValue(), d.GetVolumes()
	}
	if err := s.authorizeOperation(principal, kind, rs); err != nil {
		return err
	}
	return l.OperatorOperation(kind, agentID, rs, principal)
}

// authorizeOperation checks an operator's reservation or volume operation against the
// ACLs, as Mesos does: reserve_resources and create_volumes on each resource's role,
// unreserve_resources on the principal that reserved it, destroy_volumes on the principal
// that created the volume.
func (s *Server) authorizeOperation(principal, kind string, rs []*mesos.Resource) error {
	for _, r := range rs {
		var action acl.Action
		var object string
		switch kind {
		case "RESERVE":
			action, object = acl.ReserveResources, reservationRole(r)
		case "UNRESERVE":
			action, object = acl.UnreserveResources, reservationPrincipal(r)
		case "CREATE":
			action, object = acl.CreateVolumes, reservationRole(r)
		default:
			action, object = acl.DestroyVolumes, r.GetDisk().GetPersistence().GetPrincipal()
		}
		if !s.allowed(action, principal, object) {
			return forbidden(principal, action, object)
		}
	}
	return nil
}

// reservationRole is the role a resource is (to be) reserved for: its innermost
// reservation's, else its role field.
func reservationRole(r *mesos.Resource) string {
	if n := len(r.GetReservations()); n > 0 {
		return r.GetReservations()[n-1].GetRole()
	}
	return r.GetRole()
}

// reservationPrincipal is the principal of a resource's innermost reservation.
func reservationPrincipal(r *mesos.Resource) string {
	if n := len(r.GetReservations()); n > 0 {
		return r.GetReservations()[n-1].GetPrincipal()
	}
	return r.GetReservation().GetPrincipal()
}

// badRequestError is a 400 raised before the ledger sees the call.
type badRequestError struct{ msg string }

func (e *badRequestError) Error() string { return e.msg }
func (e *badRequestError) Unwrap() error { return ledger.ErrInvalid }

func inputError(msg string) error { return &badRequestError{msg: msg} }

// legacyOperation serves POST /reserve, /unreserve, /create-volumes and
// /destroy-volumes: the form fields slaveId and field (resources or volumes,
// a JSON array of Resource).
func (s *Server) legacyOperation(kind, field string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			httpError(w, http.StatusMethodNotAllowed, "Expecting 'POST', but received '"+r.Method+"'")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodySize)
		if err := r.ParseForm(); err != nil {
			httpError(w, http.StatusBadRequest, "Unable to parse the request body: "+err.Error())
			return
		}
		agentID := r.PostForm.Get("slaveId")
		if agentID == "" {
			httpError(w, http.StatusBadRequest, "Missing 'slaveId' query parameter in the request body")
			return
		}
		text := r.PostForm.Get(field)
		if text == "" {
			httpError(w, http.StatusBadRequest, "Missing '"+field+"' query parameter in the request body")
			return
		}
		pbs, err := parseResourcesJSON(text)
		if err != nil {
			httpError(w, http.StatusBadRequest, "Error in parsing '"+field+"' query parameter in the request body: "+err.Error())
			return
		}
		principal := callerOf(r.Context()).principal
		if err := s.authorizeOperation(principal, kind, pbs); err != nil {
			writeError(w, err)
			return
		}
		var callErr error
		if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { callErr = l.OperatorOperation(kind, agentID, pbs, principal) }); err != nil {
			writeError(w, err)
			return
		}
		if callErr != nil {
			writeError(w, legacyFieldNames(callErr))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

// parseResourcesJSON reads a JSON array of Resource messages.
func parseResourcesJSON(text string) ([]*mesos.Resource, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("expecting a JSON array of resources: %w", err)
	}
	out := make([]*mesos.Resource, len(raw))
	for i, m := range raw {
		pb := &mesos.Resource{}
		if err := mesos.UnmarshalJSON(m, pb); err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out[i] = pb
	}
	return out, nil
}

// legacyFieldNames renames the v1 field agent_id to the form's slaveId in a
// ledger error, keeping its kind.
func legacyFieldNames(err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "agent_id: ") {
		return err
	}
	return &renamedError{msg: "slaveId: " + strings.TrimPrefix(msg, "agent_id: "), err: err}
}

type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }
