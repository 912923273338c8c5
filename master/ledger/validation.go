package ledger

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"google.golang.org/protobuf/proto"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

// validateID checks an id the way Mesos does: not empty, not "." or "..", no '/',
// no whitespace or control characters.
func validateID(id string) error {
	switch {
	case id == "":
		return errors.New("ID must not be empty")
	case id == "." || id == "..":
		return errors.New("'.' and '..' are disallowed")
	case len(id) > 255:
		return errors.New("ID must be at most 255 characters")
	}
	for _, r := range id {
		if r == '/' || r == '\\' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("ID contains invalid character %q", r)
		}
	}
	return nil
}

// validateRole checks a role name as Mesos does.
func validateRole(role string) error {
	switch {
	case role == "":
		return errors.New("role name must not be empty")
	case role == "*":
		return nil
	case role == "." || role == "..":
		return fmt.Errorf("role name %q is disallowed", role)
	case strings.HasPrefix(role, "-"):
		return fmt.Errorf("role name %q must not start with '-'", role)
	case strings.HasPrefix(role, "/") || strings.HasSuffix(role, "/"):
		return fmt.Errorf("role name %q must not start or end with '/'", role)
	}
	for _, part := range strings.Split(role, "/") {
		if part == "" || part == "." || part == ".." || part == "*" {
			return fmt.Errorf("role name %q has an invalid path component %q", role, part)
		}
	}
	for _, r := range role {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("role name %q contains invalid character %q", role, r)
		}
	}
	return nil
}

// validateFrameworkInfo checks a subscribing framework's info.
func validateFrameworkInfo(info *mesos.FrameworkInfo) error {
	multiRole := false
	for _, c := range info.GetCapabilities() {
		if c.GetType() == mesos.FrameworkInfo_Capability_MULTI_ROLE {
			multiRole = true
		}
	}
	if id := info.GetId(); id != nil {
		if err := validateID(id.GetValue()); err != nil {
			return fmt.Errorf("'subscribe.framework_info.id' is invalid: %w", err)
		}
	}
	if multiRole {
		if info.Role != nil {
			return errors.New("'subscribe.framework_info.role' must not be set when the MULTI_ROLE capability is set; use 'roles'")
		}
		seen := map[string]bool{}
		for _, r := range info.GetRoles() {
			if err := validateRole(r); err != nil {
				return fmt.Errorf("'subscribe.framework_info.roles': %w", err)
			}
			if seen[r] {
				return fmt.Errorf("'subscribe.framework_info.roles' contains duplicate role %q", r)
			}
			seen[r] = true
		}
		return nil
	}
	if len(info.GetRoles()) > 0 {
		return errors.New("'subscribe.framework_info.roles' requires the MULTI_ROLE capability")
	}
	if err := validateRole(info.GetRole()); err != nil {
		return fmt.Errorf("'subscribe.framework_info.role': %w", err)
	}
	if t := info.GetFailoverTimeout(); t < 0 || t != t {
		return errors.New("'subscribe.framework_info.failover_timeout' must not be negative")
	}
	return nil
}

// ValidateSchedulerCall checks the shape of a decoded scheduler call (as Mesos's
// validation::scheduler::call::validate does).
func ValidateSchedulerCall(call *scheduler.Call) error {
	if call.Type == nil || call.GetType() == scheduler.Call_UNKNOWN {
		return errors.New("Expecting 'type' to be present")
	}
	if call.GetType() == scheduler.Call_SUBSCRIBE {
		if call.Subscribe == nil {
			return errors.New("Expecting 'subscribe' to be present")
		}
		info := call.GetSubscribe().GetFrameworkInfo()
		if call.FrameworkId != nil && (info.Id == nil || info.GetId().GetValue() != call.GetFrameworkId().GetValue()) {
			return errors.New("'framework_id' differs from 'subscribe.framework_info.id'")
		}
		return validateFrameworkInfo(info)
	}
	if call.FrameworkId == nil {
		return errors.New("Expecting 'framework_id' to be present")
	}
	present := map[scheduler.Call_Type]struct {
		name string
		ok   bool
	}{
		scheduler.Call_ACCEPT:      {"accept", call.Accept != nil},
		scheduler.Call_DECLINE:     {"decline", call.Decline != nil},
		scheduler.Call_KILL:        {"kill", call.Kill != nil},
		scheduler.Call_SHUTDOWN:    {"shutdown", call.Shutdown != nil},
		scheduler.Call_ACKNOWLEDGE: {"acknowledge", call.Acknowledge != nil},
		scheduler.Call_RECONCILE:   {"reconcile", call.Reconcile != nil},
		scheduler.Call_MESSAGE:     {"message", call.Message != nil},
		scheduler.Call_REQUEST:     {"request", call.Request != nil},
	}
	if p, ok := present[call.GetType()]; ok && !p.ok {
		return fmt.Errorf("Expecting '%s' to be present", p.name)
	}
	if call.GetType() == scheduler.Call_ACKNOWLEDGE && len(call.GetAcknowledge().GetUuid()) != 16 {
		return errors.New("'acknowledge.uuid' is not a valid UUID (16 bytes)")
	}
	return nil
}

// validateTask checks one task of a LAUNCH against the framework, the agent and the
// remaining offered resources. It returns the resources the task needs (with its
// executor's when the executor is new) and the new executor, if any.
func validateTask(fw *framework, a *agent, ti *mesos.TaskInfo, remaining resources.Resources) (resources.Resources, *executor, error) {
	if err := validateTaskCommon(fw, a, ti); err != nil {
		return resources.Resources{}, nil, err
	}
	if (ti.Command == nil) == (ti.Executor == nil) {
		return resources.Resources{}, nil, errors.New("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present")
	}
	res, err := parseResources(ti.GetResources())
	if err != nil {
		return resources.Resources{}, nil, fmt.Errorf("Task uses invalid resources: %v", err)
	}
	if res.IsEmpty() {
		return resources.Resources{}, nil, errors.New("Task uses no resources")
	}
	need := res
	var newExec *executor
	if ti.Executor != nil {
		newExec, err = validateExecutor(fw, a, ti.Executor)
		if err != nil {
			return resources.Resources{}, nil, err
		}
		if newExec != nil {
			need = need.Plus(newExec.res)
		}
	}
	if !remaining.Contains(need) {
		return resources.Resources{}, nil, fmt.Errorf("Task uses more resources than available: needs %s (task and new executor), offered resources left %s", need, remaining)
	}
	return need, newExec, nil
}

func validateTaskCommon(fw *framework, a *agent, ti *mesos.TaskInfo) error {
	id := ti.GetTaskId().GetValue()
	if err := validateID(id); err != nil {
		return fmt.Errorf("Task ID '%s' is invalid: %v", id, err)
	}
	if fw.tasks[id] != nil || fw.unreachable[id] != nil {
		return fmt.Errorf("Task has duplicate ID: %s", id)
	}
	if got := ti.GetAgentId().GetValue(); got != a.id {
		return fmt.Errorf("Task uses agent ID '%s' which does not match the offers' agent ID '%s'", got, a.id)
	}
	if role := resourceRole(ti.GetResources()); role != "" && !slices.Contains(fw.roles, role) {
		return fmt.Errorf("Task resources are allocated to role '%s' which is not a role of the framework", role)
	}
	return nil
}

func resourceRole(rs []*mesos.Resource) string {
	for _, r := range rs {
		if ai := r.GetAllocationInfo(); ai != nil && ai.Role != nil {
			return ai.GetRole()
		}
	}
	return ""
}

// validateExecutor checks a task's executor; it returns the executor to add when it
// is not running on the agent yet.
func validateExecutor(fw *framework, a *agent, ei *mesos.ExecutorInfo) (*executor, error) {
	execID := ei.GetExecutorId().GetValue()
	if err := validateID(execID); err != nil {
		return nil, fmt.Errorf("Executor ID '%s' is invalid: %v", execID, err)
	}
	if ei.FrameworkId != nil && ei.GetFrameworkId().GetValue() != fw.id {
		return nil, fmt.Errorf("ExecutorInfo has an invalid FrameworkID (actual: %s vs expected: %s)", ei.GetFrameworkId().GetValue(), fw.id)
	}
	res, err := parseResources(ei.GetResources())
	if err != nil {
		return nil, fmt.Errorf("Executor uses invalid resources: %v", err)
	}
	if existing := a.executors[fw.id][execID]; existing != nil {
		want := proto.Clone(ei).(*mesos.ExecutorInfo)
		if want.FrameworkId == nil {
			want.FrameworkId = frameworkIDpb(fw.id)
		}
		have := proto.Clone(existing.info).(*mesos.ExecutorInfo)
		want.Resources, have.Resources = stripAllocation(want.Resources), stripAllocation(have.Resources)
		if !proto.Equal(want, have) {
			return nil, fmt.Errorf("ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID '%s'", execID)
		}
		return nil, nil
	}
	if ei.GetType() != mesos.ExecutorInfo_DEFAULT && ei.Command == nil {
		return nil, fmt.Errorf("Executor '%s' must have a CommandInfo", execID)
	}
	return &executor{info: ei, res: res}, nil
}

// validateTaskGroup checks a LAUNCH_GROUP operation.
func validateTaskGroup(fw *framework, a *agent, lg *mesos.Offer_Operation_LaunchGroup, remaining resources.Resources) (resources.Resources, *executor, error) {
	tasks := lg.GetTaskGroup().GetTasks()
	if len(tasks) == 0 {
		return resources.Resources{}, nil, errors.New("Task group must have at least one task")
	}
	newExec, err := validateExecutor(fw, a, lg.GetExecutor())
	if err != nil {
		return resources.Resources{}, nil, err
	}
	var need resources.Resources
	if newExec != nil {
		need = newExec.res
	}
	seen := map[string]bool{}
	for _, ti := range tasks {
		id := ti.GetTaskId().GetValue()
		if err := validateTaskCommon(fw, a, ti); err != nil {
			return resources.Resources{}, nil, err
		}
		if seen[id] {
			return resources.Resources{}, nil, fmt.Errorf("Task group has duplicate task ID: %s", id)
		}
		seen[id] = true
		if ti.Executor != nil {
			return resources.Resources{}, nil, fmt.Errorf("Task '%s' in a task group must not set 'executor'", id)
		}
		res, err := parseResources(ti.GetResources())
		if err != nil {
			return resources.Resources{}, nil, fmt.Errorf("Task '%s' uses invalid resources: %v", id, err)
		}
		need = need.Plus(res)
	}
	if !remaining.Contains(need) {
		return resources.Resources{}, nil, fmt.Errorf("Task group uses more resources than available: needs %s, offered resources left %s", need, remaining)
	}
	return need, newExec, nil
}

// ValidateAgentCall checks the shape of a decoded agent call.
func ValidateAgentCall(call *agorapb.AgentCall) error {
	t := call.GetType()
	if call.Type == nil || t == agorapb.AgentCall_UNKNOWN {
		return errors.New("Expecting 'type' to be present")
	}
	if t == agorapb.AgentCall_SUBSCRIBE {
		if call.Subscribe == nil {
			return errors.New("Expecting 'subscribe' to be present")
		}
		if id := call.GetSubscribe().GetAgentInfo().GetId(); id != nil {
			if err := validateID(id.GetValue()); err != nil {
				return fmt.Errorf("'subscribe.agent_info.id' is invalid: %w", err)
			}
		}
		infoID := call.GetSubscribe().GetAgentInfo().GetId()
		if call.AgentId != nil && infoID != nil && call.GetAgentId().GetValue() != infoID.GetValue() {
			return errors.New("'agent_id' differs from 'subscribe.agent_info.id'")
		}
		return nil
	}
	if call.AgentId == nil {
		return errors.New("Expecting 'agent_id' to be present")
	}
	present := map[agorapb.AgentCall_Type]struct {
		name string
		ok   bool
	}{
		agorapb.AgentCall_STATUS_UPDATE:     {"status_update", call.StatusUpdate != nil},
		agorapb.AgentCall_UPDATE_RESOURCES:  {"update_resources", call.UpdateResources != nil},
		agorapb.AgentCall_EXECUTOR_EXITED:   {"executor_exited", call.ExecutorExited != nil},
		agorapb.AgentCall_FRAMEWORK_MESSAGE: {"framework_message", call.FrameworkMessage != nil},
	}
	if p, ok := present[t]; ok && !p.ok {
		return fmt.Errorf("Expecting '%s' to be present", p.name)
	}
	if t == agorapb.AgentCall_STATUS_UPDATE {
		if err := validateID(call.GetStatusUpdate().GetUpdate().GetStatus().GetTaskId().GetValue()); err != nil {
			return fmt.Errorf("'status_update.update.status.task_id' is invalid: %w", err)
		}
	}
	return nil
}
