package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/agoracluster/agora/master/ledger"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	maintpb "github.com/agoracluster/agora/proto/mesos/v1/maintenance"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/security/acl"
)

// Maintenance and agent draining from the operator: the v1 calls
// GET_MAINTENANCE_STATUS, GET_MAINTENANCE_SCHEDULE, UPDATE_MAINTENANCE_SCHEDULE,
// START_MAINTENANCE, STOP_MAINTENANCE, DRAIN_AGENT, DEACTIVATE_AGENT and
// REACTIVATE_AGENT, and Mesos's endpoints /maintenance/schedule (GET, POST a
// Schedule as JSON), /maintenance/status (GET) and /machine/down and /machine/up
// (POST a JSON array of MachineID). The rules are the ledger's (maintenance.go);
// bad input is a 400 naming the field, and changes nothing.

// maintenanceCall runs one of the maintenance and drain calls of principal on the
// ledger, checked against the ACLs as Mesos does: the machines a call changes or
// reads (get_maintenance_schedules and get_maintenance_statuses leave out the
// machines principal may not see), the agent a drain call names.
func (s *Server) maintenanceCall(l *ledger.Ledger, call *masterpb.Call, principal string) (*masterpb.Response, error) {
	switch call.GetType() {
	case masterpb.Call_GET_MAINTENANCE_STATUS:
		resp := response(masterpb.Response_GET_MAINTENANCE_STATUS)
		resp.GetMaintenanceStatus = &masterpb.Response_GetMaintenanceStatus{Status: s.visibleStatus(principal, l.MaintenanceStatus())}
		return resp, nil
	case masterpb.Call_GET_MAINTENANCE_SCHEDULE:
		resp := response(masterpb.Response_GET_MAINTENANCE_SCHEDULE)
		resp.GetMaintenanceSchedule = &masterpb.Response_GetMaintenanceSchedule{Schedule: s.visibleSchedule(principal, l.Schedule())}
		return resp, nil
	case masterpb.Call_UPDATE_MAINTENANCE_SCHEDULE:
		return nil, prefixed("update_maintenance_schedule.schedule.", s.updateSchedule(l, principal, call.GetUpdateMaintenanceSchedule().GetSchedule()))
	case masterpb.Call_START_MAINTENANCE:
		return nil, prefixed("start_maintenance.", s.machinesDownOrUp(l, principal, call.GetStartMaintenance().GetMachines(), false))
	case masterpb.Call_STOP_MAINTENANCE:
		return nil, prefixed("stop_maintenance.", s.machinesDownOrUp(l, principal, call.GetStopMaintenance().GetMachines(), true))
	case masterpb.Call_DRAIN_AGENT:
		d := call.GetDrainAgent()
		if err := s.authorizeAll(principal, acl.DrainAgents, d.GetAgentId().GetValue()); err != nil {
			return nil, err
		}
		return nil, l.DrainAgent(d.GetAgentId().GetValue(), d.GetMaxGracePeriod(), d.GetMarkGone())
	case masterpb.Call_DEACTIVATE_AGENT:
		id := call.GetDeactivateAgent().GetAgentId().GetValue()
		if err := s.authorizeAll(principal, acl.DeactivateAgents, id); err != nil {
			return nil, err
		}
		return nil, l.DeactivateAgent(id)
	case masterpb.Call_REACTIVATE_AGENT:
		id := call.GetReactivateAgent().GetAgentId().GetValue()
		if err := s.authorizeAll(principal, acl.ReactivateAgents, id); err != nil {
			return nil, err
		}
		return nil, l.ReactivateAgent(id)
	case masterpb.Call_MARK_AGENT_GONE:
		id := call.GetMarkAgentGone().GetAgentId().GetValue()
		if err := s.authorizeAll(principal, acl.MarkAgentsGone, id); err != nil {
			return nil, err
		}
		return nil, l.MarkAgentGone(id)
	}
	return nil, notImplemented(call.GetType().String() + " is not implemented by Agora's master")
}

// machineObject is a machine as the ACLs name it: its hostname, or its ip.
func machineObject(id *mesos.MachineID) string {
	if h := id.GetHostname(); h != "" {
		return h
	}
	return id.GetIp()
}

func machineObjects(ids []*mesos.MachineID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = machineObject(id)
	}
	return out
}

func scheduleMachines(sched *maintpb.Schedule) []*mesos.MachineID {
	var out []*mesos.MachineID
	for _, w := range sched.GetWindows() {
		out = append(out, w.GetMachineIds()...)
	}
	return out
}

// updateSchedule replaces the schedule when principal may change every machine in
// the old and the new one (update_maintenance_schedules).
func (s *Server) updateSchedule(l *ledger.Ledger, principal string, sched *maintpb.Schedule) error {
	machines := append(scheduleMachines(l.Schedule()), scheduleMachines(sched)...)
	if err := s.authorizeAll(principal, acl.UpdateMaintenanceSchedules, machineObjects(machines)...); err != nil {
		return err
	}
	return l.UpdateSchedule(sched)
}

// machinesDownOrUp is START_MAINTENANCE (up false) or STOP_MAINTENANCE, when principal
// may (start_maintenances, stop_maintenances).
func (s *Server) machinesDownOrUp(l *ledger.Ledger, principal string, ids []*mesos.MachineID, up bool) error {
	action := acl.StartMaintenances
	if up {
		action = acl.StopMaintenances
	}
	if err := s.authorizeAll(principal, action, machineObjects(ids)...); err != nil {
		return err
	}
	if up {
		return l.StopMaintenance(ids)
	}
	return l.StartMaintenance(ids)
}

// visibleSchedule is sched without the machines principal may not see
// (get_maintenance_schedules); windows left empty go.
func (s *Server) visibleSchedule(principal string, sched *maintpb.Schedule) *maintpb.Schedule {
	out := &maintpb.Schedule{}
	for _, w := range sched.GetWindows() {
		var ids []*mesos.MachineID
		for _, id := range w.GetMachineIds() {
			if s.allowed(acl.GetMaintenanceSchedules, principal, machineObject(id)) {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			out.Windows = append(out.Windows, &maintpb.Window{MachineIds: ids, Unavailability: w.GetUnavailability()})
		}
	}
	return out
}

// visibleStatus is st without the machines principal may not see (get_maintenance_statuses).
func (s *Server) visibleStatus(principal string, st *maintpb.ClusterStatus) *maintpb.ClusterStatus {
	out := &maintpb.ClusterStatus{}
	for _, dm := range st.GetDrainingMachines() {
		if s.allowed(acl.GetMaintenanceStatuses, principal, machineObject(dm.GetId())) {
			out.DrainingMachines = append(out.DrainingMachines, dm)
		}
	}
	for _, id := range st.GetDownMachines() {
		if s.allowed(acl.GetMaintenanceStatuses, principal, machineObject(id)) {
			out.DownMachines = append(out.DownMachines, id)
		}
	}
	return out
}

// isMaintenanceCall reports whether maintenanceCall runs t.
func isMaintenanceCall(t masterpb.Call_Type) bool {
	switch t {
	case masterpb.Call_GET_MAINTENANCE_STATUS, masterpb.Call_GET_MAINTENANCE_SCHEDULE,
		masterpb.Call_UPDATE_MAINTENANCE_SCHEDULE, masterpb.Call_START_MAINTENANCE, masterpb.Call_STOP_MAINTENANCE,
		masterpb.Call_DRAIN_AGENT, masterpb.Call_DEACTIVATE_AGENT, masterpb.Call_REACTIVATE_AGENT,
		masterpb.Call_MARK_AGENT_GONE:
		return true
	}
	return false
}

// prefixed puts the call's field path before the field a ledger error names,
// keeping its kind.
func prefixed(prefix string, err error) error {
	if !errors.Is(err, ledger.ErrInvalid) {
		return err
	}
	return &renamedError{msg: prefix + err.Error(), err: err}
}

// handleMaintenanceSchedule serves GET and POST /maintenance/schedule.
func (s *Server) handleMaintenanceSchedule(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		var sched *maintpb.Schedule
		principal := callerOf(r.Context()).principal
		if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { sched = s.visibleSchedule(principal, l.Schedule()) }); err != nil {
			writeError(w, err)
			return
		}
		writeProtoJSON(w, sched)
	case http.MethodPost:
		body, ok := readAll(w, r, s.cfg.MaxBodySize)
		if !ok {
			return
		}
		sched := &maintpb.Schedule{}
		if err := mesos.UnmarshalJSON(body, sched); err != nil {
			httpError(w, http.StatusBadRequest, "Failed to parse the maintenance schedule: "+err.Error())
			return
		}
		principal := callerOf(r.Context()).principal
		s.answerOK(w, r, func(l *ledger.Ledger) error { return s.updateSchedule(l, principal, sched) })
	default:
		w.Header().Set("Allow", "GET, POST")
		httpError(w, http.StatusMethodNotAllowed, "Expecting one of { 'GET', 'POST' }, but received '"+r.Method+"'")
	}
}

// handleMaintenanceStatus serves GET /maintenance/status.
func (s *Server) handleMaintenanceStatus(w http.ResponseWriter, r *http.Request) {
	if !onlyGet(w, r) {
		return
	}
	var st *maintpb.ClusterStatus
	principal := callerOf(r.Context()).principal
	if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { st = s.visibleStatus(principal, l.MaintenanceStatus()) }); err != nil {
		writeError(w, err)
		return
	}
	writeProtoJSON(w, st)
}

// handleMachines serves POST /machine/down (up=false) and /machine/up: a JSON
// array of MachineID.
func (s *Server) handleMachines(up bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			httpError(w, http.StatusMethodNotAllowed, "Expecting 'POST', but received '"+r.Method+"'")
			return
		}
		body, ok := readAll(w, r, s.cfg.MaxBodySize)
		if !ok {
			return
		}
		ids, err := parseMachineIDs(body)
		if err != nil {
			httpError(w, http.StatusBadRequest, "Failed to parse the machines: "+err.Error())
			return
		}
		principal := callerOf(r.Context()).principal
		s.answerOK(w, r, func(l *ledger.Ledger) error { return s.machinesDownOrUp(l, principal, ids, up) })
	}
}

// parseMachineIDs reads a JSON array of MachineID messages.
func parseMachineIDs(body []byte) ([]*mesos.MachineID, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("expecting a JSON array of machine ids: %w", err)
	}
	out := make([]*mesos.MachineID, len(raw))
	for i, m := range raw {
		id := &mesos.MachineID{}
		if err := mesos.UnmarshalJSON(m, id); err != nil {
			return nil, fmt.Errorf("machines[%d]: %w", i, err)
		}
		out[i] = id
	}
	return out, nil
}

// readAll reads a request body of at most limit bytes; it answers the error itself.
func readAll(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		httpError(w, http.StatusBadRequest, "Unable to read the request body: "+err.Error())
		return nil, false
	}
	return body, true
}
