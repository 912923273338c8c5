package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/master/ledger"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	quotapb "github.com/agoracluster/agora/proto/mesos/v1/quota"
	"github.com/agoracluster/agora/security/acl"
)

// The Mesos v1 operator API of the master: POST /api/v1 with a master.Call in
// protobuf or JSON; synchronous calls answer 200 with a master.Response (or an
// empty body for calls that change something), SUBSCRIBE answers a RecordIO
// stream of master.Events (operator_stream.go).

// errNotBuilt marks operator calls that Agora does not serve (yet); they answer
// 501 with the call's name.
var errNotBuilt = errors.New("httpapi: call not implemented")

// notBuilt lists the calls that answer 501, with what to use instead where
// there is something.
var notBuilt = map[masterpb.Call_Type]string{
	masterpb.Call_LIST_FILES:     "the master keeps no files to browse; use the agents' LIST_FILES",
	masterpb.Call_READ_FILE:      "the master keeps no files to read; use the agents' READ_FILE",
	masterpb.Call_GET_OPERATIONS: "",
	masterpb.Call_GROW_VOLUME:    "resizing persistent volumes is not built on this master; DESTROY and CREATE instead",
	masterpb.Call_SHRINK_VOLUME:  "resizing persistent volumes is not built on this master; DESTROY and CREATE instead",
}

// handleOperator serves POST /api/v1, the Mesos v1 operator API.
func (s *Server) handleOperator(w http.ResponseWriter, r *http.Request) {
	c, body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	call := &masterpb.Call{}
	if err := c.Unmarshal(body, call); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to parse body into Call protobuf: "+err.Error())
		return
	}
	out, err := apicodec.ForResponse(r.Header.Get("Accept"))
	if err != nil {
		httpError(w, http.StatusNotAcceptable, err.Error())
		return
	}
	if call.Type == nil {
		if name := jsonTypeName(body); name != "" {
			httpError(w, http.StatusBadRequest, "Failed to validate master::Call: Unknown call type '"+name+"'")
			return
		}
	}
	if err := validateOperatorCall(call); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to validate master::Call: "+err.Error())
		return
	}
	if !s.authenticatedOperator(w, r, readOnlyCall(call.GetType())) {
		return
	}
	s.metrics.operatorCalls.WithLabelValues(call.GetType().String()).Inc()
	if call.GetType() == masterpb.Call_SUBSCRIBE {
		s.subscribeOperator(w, r, out)
		return
	}
	resp, err := s.operatorCall(r, call)
	if err != nil {
		writeError(w, err)
		return
	}
	if resp == nil {
		w.WriteHeader(noContentStatus(call.GetType()))
		return
	}
	b, err := out.Marshal(resp)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", out.ContentType())
	_, _ = w.Write(b)
}

// validateOperatorCall checks that the call has a known type and the message
// its type needs, naming the field that is missing.
func validateOperatorCall(call *masterpb.Call) error {
	if call.Type == nil {
		return errors.New("Expecting 'type' to be present")
	}
	if _, known := masterpb.Call_Type_name[int32(call.GetType())]; !known || call.GetType() == masterpb.Call_UNKNOWN {
		return errors.New("Unknown call type " + call.GetType().String())
	}
	need := func(present bool, field string) error {
		if !present {
			return errors.New("Expecting '" + field + "' to be present")
		}
		return nil
	}
	switch call.GetType() {
	case masterpb.Call_UPDATE_WEIGHTS:
		return need(call.UpdateWeights != nil, "update_weights")
	case masterpb.Call_UPDATE_QUOTA:
		return need(call.UpdateQuota != nil, "update_quota")
	case masterpb.Call_SET_QUOTA:
		return need(call.SetQuota != nil && call.SetQuota.QuotaRequest != nil, "set_quota.quota_request")
	case masterpb.Call_REMOVE_QUOTA:
		return need(call.RemoveQuota != nil && call.RemoveQuota.Role != nil, "remove_quota.role")
	case masterpb.Call_TEARDOWN:
		return need(call.Teardown.GetFrameworkId().GetValue() != "", "teardown.framework_id")
	case masterpb.Call_RESERVE_RESOURCES:
		return need(call.ReserveResources.GetAgentId().GetValue() != "", "reserve_resources.agent_id")
	case masterpb.Call_UNRESERVE_RESOURCES:
		return need(call.UnreserveResources.GetAgentId().GetValue() != "", "unreserve_resources.agent_id")
	case masterpb.Call_CREATE_VOLUMES:
		return need(call.CreateVolumes.GetAgentId().GetValue() != "", "create_volumes.agent_id")
	case masterpb.Call_DESTROY_VOLUMES:
		return need(call.DestroyVolumes.GetAgentId().GetValue() != "", "destroy_volumes.agent_id")
	case masterpb.Call_SET_LOGGING_LEVEL:
		if err := need(call.GetSetLoggingLevel().Level != nil, "set_logging_level.level"); err != nil {
			return err
		}
		if call.GetSetLoggingLevel().GetDuration().GetNanoseconds() <= 0 {
			return errors.New("Expecting 'set_logging_level.duration' to be present and positive")
		}
		return nil
	case masterpb.Call_UPDATE_MAINTENANCE_SCHEDULE:
		return need(call.UpdateMaintenanceSchedule.GetSchedule() != nil, "update_maintenance_schedule.schedule")
	case masterpb.Call_START_MAINTENANCE:
		return need(call.StartMaintenance != nil, "start_maintenance")
	case masterpb.Call_STOP_MAINTENANCE:
		return need(call.StopMaintenance != nil, "stop_maintenance")
	case masterpb.Call_DRAIN_AGENT:
		return need(call.DrainAgent.GetAgentId().GetValue() != "", "drain_agent.agent_id")
	case masterpb.Call_DEACTIVATE_AGENT:
		return need(call.DeactivateAgent.GetAgentId().GetValue() != "", "deactivate_agent.agent_id")
	case masterpb.Call_REACTIVATE_AGENT:
		return need(call.ReactivateAgent.GetAgentId().GetValue() != "", "reactivate_agent.agent_id")
	case masterpb.Call_MARK_AGENT_GONE:
		return need(call.MarkAgentGone.GetAgentId().GetValue() != "", "mark_agent_gone.agent_id")
	}
	return nil
}

// jsonTypeName is the "type" a JSON call names, when the decoder dropped it as
// an enum value it does not know.
func jsonTypeName(body []byte) string {
	var raw struct {
		Type any `json:"type"`
	}
	if json.Unmarshal(body, &raw) != nil || raw.Type == nil {
		return ""
	}
	return fmt.Sprint(raw.Type)
}

func response(t masterpb.Response_Type) *masterpb.Response {
	return &masterpb.Response{Type: t.Enum()}
}

// operatorCall runs one synchronous call; a nil Response means 200 with no body.
func (s *Server) operatorCall(r *http.Request, call *masterpb.Call) (*masterpb.Response, error) {
	if why, ok := notBuilt[call.GetType()]; ok {
		msg := call.GetType().String() + " is not implemented by Agora's master"
		if why != "" {
			msg += ": " + why
		}
		return nil, notImplemented(msg)
	}
	switch call.GetType() {
	case masterpb.Call_GET_HEALTH:
		resp := response(masterpb.Response_GET_HEALTH)
		resp.GetHealth = &masterpb.Response_GetHealth{Healthy: proto.Bool(!s.stopping())}
		return resp, nil
	case masterpb.Call_GET_FLAGS:
		if err := s.authorizeAll(callerOf(r.Context()).principal, acl.ViewFlags, ""); err != nil {
			return nil, err
		}
		resp := response(masterpb.Response_GET_FLAGS)
		resp.GetFlags = &masterpb.Response_GetFlags{Flags: flagsProto(s.cfg.Flags)}
		return resp, nil
	case masterpb.Call_GET_VERSION:
		resp := response(masterpb.Response_GET_VERSION)
		resp.GetVersion = &masterpb.Response_GetVersion{VersionInfo: s.versionInfo()}
		return resp, nil
	case masterpb.Call_GET_LOGGING_LEVEL:
		resp := response(masterpb.Response_GET_LOGGING_LEVEL)
		resp.GetLoggingLevel = &masterpb.Response_GetLoggingLevel{Level: proto.Uint32(s.loggingLevel())}
		return resp, nil
	case masterpb.Call_SET_LOGGING_LEVEL:
		return nil, s.setLoggingLevel(callerOf(r.Context()).principal, call.GetSetLoggingLevel())
	case masterpb.Call_GET_METRICS:
		// The figures of /metrics/snapshot, held to its get_endpoints rule.
		if err := s.authorizeAll(callerOf(r.Context()).principal, acl.GetEndpoints, "/metrics/snapshot"); err != nil {
			return nil, err
		}
		return s.getMetrics(r, call.GetGetMetrics())
	}
	// The rest read or change the ledger.
	var resp *masterpb.Response
	var callErr error
	principal := callerOf(r.Context()).principal
	err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { resp, callErr = s.ledgerCall(l, call, principal) })
	if err != nil {
		return nil, err
	}
	return resp, callErr
}

// ledgerCall runs a call of principal on the ledger, on its goroutine; the ACLs are
// checked here, against the state the call changes.
func (s *Server) ledgerCall(l *ledger.Ledger, call *masterpb.Call, principal string) (*masterpb.Response, error) {
	if isMaintenanceCall(call.GetType()) {
		return s.maintenanceCall(l, call, principal)
	}
	switch call.GetType() {
	case masterpb.Call_GET_STATE:
		resp := response(masterpb.Response_GET_STATE)
		resp.GetState = ledger.GetState(s.snapshot(l, principal))
		return resp, nil
	case masterpb.Call_GET_AGENTS:
		resp := response(masterpb.Response_GET_AGENTS)
		resp.GetAgents = ledger.GetAgents(s.snapshot(l, principal))
		return resp, nil
	case masterpb.Call_GET_FRAMEWORKS:
		resp := response(masterpb.Response_GET_FRAMEWORKS)
		resp.GetFrameworks = ledger.GetFrameworks(s.snapshot(l, principal))
		return resp, nil
	case masterpb.Call_GET_EXECUTORS:
		resp := response(masterpb.Response_GET_EXECUTORS)
		resp.GetExecutors = ledger.GetExecutors(s.snapshot(l, principal))
		return resp, nil
	case masterpb.Call_GET_TASKS:
		resp := response(masterpb.Response_GET_TASKS)
		resp.GetTasks = ledger.GetTasks(s.snapshot(l, principal))
		return resp, nil
	case masterpb.Call_GET_ROLES:
		resp := response(masterpb.Response_GET_ROLES)
		resp.GetRoles = &masterpb.Response_GetRoles{Roles: s.visibleRoles(l, principal)}
		return resp, nil
	case masterpb.Call_GET_WEIGHTS:
		resp := response(masterpb.Response_GET_WEIGHTS)
		resp.GetWeights = &masterpb.Response_GetWeights{WeightInfos: s.visibleWeights(l, principal)}
		return resp, nil
	case masterpb.Call_UPDATE_WEIGHTS:
		ws := call.GetUpdateWeights().GetWeightInfos()
		if err := s.authorizeAll(principal, acl.UpdateWeights, weightRoles(ws)...); err != nil {
			return nil, err
		}
		return nil, l.UpdateWeights(ws)
	case masterpb.Call_GET_QUOTA:
		resp := response(masterpb.Response_GET_QUOTA)
		resp.GetQuota = &masterpb.Response_GetQuota{Status: s.visibleQuotas(l, principal)}
		return resp, nil
	case masterpb.Call_UPDATE_QUOTA:
		u := call.GetUpdateQuota()
		if err := s.authorizeAll(principal, acl.UpdateQuotas, quotaRoles(u.GetQuotaConfigs())...); err != nil {
			return nil, err
		}
		return nil, l.UpdateQuotas(u.GetQuotaConfigs(), u.GetForce())
	case masterpb.Call_SET_QUOTA:
		req := call.GetSetQuota().GetQuotaRequest()
		if err := s.authorizeAll(principal, acl.UpdateQuotas, req.GetRole()); err != nil {
			return nil, err
		}
		return nil, l.SetLegacyQuota(req)
	case masterpb.Call_REMOVE_QUOTA:
		role := call.GetRemoveQuota().GetRole()
		if err := s.authorizeAll(principal, acl.UpdateQuotas, role); err != nil {
			return nil, err
		}
		return nil, l.RemoveQuota(role)
	case masterpb.Call_TEARDOWN:
		return nil, s.teardown(l, principal, call.GetTeardown().GetFrameworkId().GetValue())
	case masterpb.Call_RESERVE_RESOURCES, masterpb.Call_UNRESERVE_RESOURCES,
		masterpb.Call_CREATE_VOLUMES, masterpb.Call_DESTROY_VOLUMES:
		return nil, s.operatorOperation(l, call, principal)
	case masterpb.Call_GET_MASTER:
		snap := l.Snapshot()
		resp := response(masterpb.Response_GET_MASTER)
		resp.GetMaster = &masterpb.Response_GetMaster{
			MasterInfo:  proto.Clone(snap.Info).(*mesos.MasterInfo),
			StartTime:   proto.Float64(secs(snap.StartTime)),
			ElectedTime: proto.Float64(secs(snap.StartTime)),
		}
		return resp, nil
	}
	return nil, notImplemented(call.GetType().String() + " is not implemented by Agora's master")
}

// notImplementedError answers 501.
type notImplementedError struct{ msg string }

func (e *notImplementedError) Error() string { return e.msg }
func (e *notImplementedError) Unwrap() error { return errNotBuilt }

func notImplemented(msg string) error { return &notImplementedError{msg: msg} }

func flagsProto(flags map[string]string) []*mesos.Flag {
	out := make([]*mesos.Flag, 0, len(flags))
	for _, name := range slices.Sorted(maps.Keys(flags)) {
		out = append(out, &mesos.Flag{Name: proto.String(name), Value: proto.String(flags[name])})
	}
	return out
}

func (s *Server) versionInfo() *mesos.VersionInfo {
	v := s.cfg.Version
	if v == "" {
		v = "dev"
	}
	return &mesos.VersionInfo{Version: proto.String(v)}
}

// loggingLevel is the log's verbosity as Mesos's glog level: 0 normally, 1
// when debug lines are logged.
func (s *Server) loggingLevel() uint32 {
	if s.log.Core().Enabled(zapcore.DebugLevel) {
		return 1
	}
	return 0
}

func weightsProto(ws map[string]float64) []*mesos.WeightInfo {
	out := make([]*mesos.WeightInfo, 0, len(ws))
	for _, role := range slices.Sorted(maps.Keys(ws)) {
		out = append(out, &mesos.WeightInfo{Role: proto.String(role), Weight: proto.Float64(ws[role])})
	}
	return out
}

// rolesProto lists the roles the allocator knows (with frameworks, a weight or a
// quota) that keep keeps.
func rolesProto(l *ledger.Ledger, keep func(role string) bool) []*mesos.Role {
	var out []*mesos.Role
	for _, r := range l.Roles() {
		if !keep(r.Name) {
			continue
		}
		role := &mesos.Role{Name: proto.String(r.Name), Weight: proto.Float64(r.Weight), Resources: r.Allocated.ToProto()}
		for _, id := range r.Frameworks {
			role.Frameworks = append(role.Frameworks, &mesos.FrameworkID{Value: proto.String(id)})
		}
		out = append(out, role)
	}
	return out
}

// quotaStatus is GET_QUOTA's answer for the roles keep keeps: the configs, and the
// legacy infos with the guarantees as resources.
func quotaStatus(l *ledger.Ledger, keep func(role string) bool) *quotapb.QuotaStatus {
	qs := l.Quotas()
	st := &quotapb.QuotaStatus{}
	for _, role := range slices.Sorted(maps.Keys(qs)) {
		if !keep(role) {
			continue
		}
		q := qs[role]
		st.Configs = append(st.Configs, ledger.QuotaConfig(role, q))
		info := &quotapb.QuotaInfo{Role: proto.String(role)}
		for _, name := range slices.Sorted(maps.Keys(q.Guarantees)) {
			info.Guarantee = append(info.Guarantee, &mesos.Resource{
				Name: proto.String(name), Type: mesos.Value_SCALAR.Enum(),
				Scalar: &mesos.Value_Scalar{Value: proto.Float64(q.Guarantees[name])},
			})
		}
		st.Infos = append(st.Infos, info)
	}
	return st
}

// getMetrics answers GET_METRICS with the /metrics/snapshot figures; a
// timeout bounds the wait for the ledger.
func (s *Server) getMetrics(r *http.Request, gm *masterpb.Call_GetMetrics) (*masterpb.Response, error) {
	ctx := r.Context()
	if ns := gm.GetTimeout().GetNanoseconds(); ns > 0 {
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, time.Duration(ns))
		defer cancel()
	}
	figures, err := s.mesosMetrics(ctx)
	if err != nil {
		return nil, err
	}
	resp := response(masterpb.Response_GET_METRICS)
	resp.GetMetrics = &masterpb.Response_GetMetrics{}
	for _, name := range slices.Sorted(maps.Keys(figures)) {
		resp.GetMetrics.Metrics = append(resp.GetMetrics.Metrics, &mesos.Metric{Name: proto.String(name), Value: proto.Float64(figures[name])})
	}
	return resp, nil
}
