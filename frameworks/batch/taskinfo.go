package batch

import (
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/batch/job"
	"github.com/agoracluster/agora/frameworks/batch/run"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// buildTask is the TaskInfo of one task of run r (without agent and resources, which the
// offer fills in): the job's command or arguments, environment, user, artifacts, Docker
// image, labels and kill grace period.
func buildTask(spec *job.Spec, r *run.Run, taskID, defaultUser string) *mesos.TaskInfo {
	env := map[string]string{"AGORA_JOB_ID": spec.ID, "AGORA_RUN_ID": r.ID, "MESOS_TASK_ID": taskID}
	for k, v := range spec.Run.Env {
		env[k] = v
	}
	cmd := &mesos.CommandInfo{Environment: &mesos.Environment{Variables: sortedVars(env)}}
	switch {
	case spec.Run.Cmd != "":
		cmd.Shell, cmd.Value = proto.Bool(true), proto.String(spec.Run.Cmd)
	case len(spec.Run.Args) > 0:
		cmd.Shell = proto.Bool(false)
		if spec.Run.Docker == nil {
			cmd.Value = proto.String(spec.Run.Args[0])
		}
		cmd.Arguments = append([]string(nil), spec.Run.Args...)
	default:
		cmd.Shell = proto.Bool(false)
	}
	if u := spec.Run.User; u != "" {
		cmd.User = proto.String(u)
	} else if defaultUser != "" {
		cmd.User = proto.String(defaultUser)
	}
	for _, a := range spec.Run.Artifacts {
		cmd.Uris = append(cmd.Uris, &mesos.CommandInfo_URI{Value: proto.String(a.URI),
			Executable: proto.Bool(a.Executable), Extract: proto.Bool(a.Extract), Cache: proto.Bool(a.Cache)})
	}
	t := &mesos.TaskInfo{
		Name:    proto.String(spec.ID),
		TaskId:  &mesos.TaskID{Value: proto.String(taskID)},
		Command: cmd,
	}
	if len(spec.Labels) > 0 {
		t.Labels = &mesos.Labels{}
		for _, v := range sortedVars(spec.Labels) {
			t.Labels.Labels = append(t.Labels.Labels, &mesos.Label{Key: v.Name, Value: v.Value})
		}
	}
	if g := spec.Run.TaskKillGracePeriodSeconds; g > 0 {
		t.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{
			Nanoseconds: proto.Int64(int64(time.Duration(g) * time.Second))}}
	}
	if d := spec.Run.Docker; d != nil {
		di := &mesos.ContainerInfo_DockerInfo{
			Image:          proto.String(d.Image),
			Network:        mesos.ContainerInfo_DockerInfo_HOST.Enum(),
			Privileged:     proto.Bool(d.Privileged),
			ForcePullImage: proto.Bool(d.ForcePullImage),
		}
		for _, p := range d.Parameters {
			di.Parameters = append(di.Parameters, &mesos.Parameter{Key: proto.String(p.Key), Value: proto.String(p.Value)})
		}
		t.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum(), Docker: di}
	}
	return t
}

func sortedVars(m map[string]string) []*mesos.Environment_Variable {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]*mesos.Environment_Variable, 0, len(names))
	for _, k := range names {
		out = append(out, &mesos.Environment_Variable{Name: proto.String(k), Value: proto.String(m[k])})
	}
	return out
}
