package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/agoracluster/agora/master/ledger"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	maintpb "github.com/agoracluster/agora/proto/mesos/v1/maintenance"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
)

// Maintenance and agent draining from the operator: the v1 calls
// GET_MAINTENANCE_STATUS, GET_MAINTENANCE_SCHEDULE, UPDATE_MAINTENANCE_SCHEDULE,
// START_MAINTENANCE, STOP_MAINTENANCE, DRAIN_AGENT, DEACTIVATE_AGENT and
// REACTIVATE_AGENT, and Mesos's endpoints /maintenance/schedule (GET, POST a
// Schedule as JSON), /maintenance/status (GET) and /machine/down and /machine/up
// (POST a JSON array of MachineID). The rules are the ledger's (maintenance.go);
// bad input is a 400 naming the field, and changes nothing.

// maintenanceCall runs one of the maintenance and drain calls on the ledger.
func maintenanceCall(l *ledger.Ledger, call *masterpb.Call) (*masterpb.Response, error) {
	switch call.GetType() {
	case masterpb.Call_GET_MAINTENANCE_STATUS:
		resp := response(masterpb.Response_GET_MAINTENANCE_STATUS)
		resp.GetMaintenanceStatus = &masterpb.Response_GetMaintenanceStatus{Status: l.MaintenanceStatus()}
		return resp, nil
	case masterpb.Call_GET_MAINTENANCE_SCHEDULE:
		resp := response(masterpb.Response_GET_MAINTENANCE_SCHEDULE)
		resp.GetMaintenanceSchedule = &masterpb.Response_GetMaintenanceSchedule{Schedule: l.Schedule()}
		return resp, nil
	case masterpb.Call_UPDATE_MAINTENANCE_SCHEDULE:
		return nil, prefixed("update_maintenance_schedule.schedule.", l.UpdateSchedule(call.GetUpdateMaintenanceSchedule().GetSchedule()))
	case masterpb.Call_START_MAINTENANCE:
		return nil, prefixed("start_maintenance.", l.StartMaintenance(call.GetStartMaintenance().GetMachines()))
	case masterpb.Call_STOP_MAINTENANCE:
		return nil, prefixed("stop_maintenance.", l.StopMaintenance(call.GetStopMaintenance().GetMachines()))
	case masterpb.Call_DRAIN_AGENT:
		d := call.GetDrainAgent()
		return nil, l.DrainAgent(d.GetAgentId().GetValue(), d.GetMaxGracePeriod(), d.GetMarkGone())
	case masterpb.Call_DEACTIVATE_AGENT:
		return nil, l.DeactivateAgent(call.GetDeactivateAgent().GetAgentId().GetValue())
	case masterpb.Call_REACTIVATE_AGENT:
		return nil, l.ReactivateAgent(call.GetReactivateAgent().GetAgentId().GetValue())
	case masterpb.Call_MARK_AGENT_GONE:
		return nil, l.MarkAgentGone(call.GetMarkAgentGone().GetAgentId().GetValue())
	}
	return nil, notImplemented(call.GetType().String() + " is not implemented by Agora's master")
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
	if err == nil {
		return nil
	}
	return &renamedError{msg: prefix + err.Error(), err: err}
}

// handleMaintenanceSchedule serves GET and POST /maintenance/schedule.
func (s *Server) handleMaintenanceSchedule(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		var sched *maintpb.Schedule
		if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { sched = l.Schedule() }); err != nil {
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
		s.answerOK(w, r, func(l *ledger.Ledger) error { return l.UpdateSchedule(sched) })
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
	if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { st = l.MaintenanceStatus() }); err != nil {
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
		s.answerOK(w, r, func(l *ledger.Ledger) error {
			if up {
				return l.StopMaintenance(ids)
			}
			return l.StartMaintenance(ids)
		})
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
