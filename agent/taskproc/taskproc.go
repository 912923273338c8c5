package taskproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// TokenVar holds an executor's authentication token for the agent
// (MESOS_EXECUTOR_AUTHENTICATION_TOKEN); tasks do not inherit it.
const TokenVar = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"

// Env is the task's environment: the executor's, then MESOS_TASK_ID and MESOS_SANDBOX,
// then the command's own variables (later entries win, as os/exec keeps the last duplicate).
func Env(base []string, taskID, sandbox string, cmd *mesos.CommandInfo) []string {
	env := make([]string, 0, len(base)+2+len(cmd.GetEnvironment().GetVariables()))
	for _, kv := range base {
		if !strings.HasPrefix(kv, TokenVar+"=") { // the executor's credential, not the task's
			env = append(env, kv)
		}
	}
	env = append(env, "MESOS_TASK_ID="+taskID, "MESOS_SANDBOX="+sandbox)
	for _, v := range cmd.GetEnvironment().GetVariables() {
		if v.GetType() == mesos.Environment_Variable_SECRET {
			continue // secrets are not supported; never pass a reference off as a value
		}
		env = append(env, v.GetName()+"="+v.GetValue())
	}
	return env
}

// Build turns a CommandInfo into a process in its own process group (in its own
// session with session true), run as userName when the executor runs as root and userName
// is another user.
func Build(ci *mesos.CommandInfo, env []string, dir, userName string, session bool, stdout, stderr *os.File) (*exec.Cmd, error) {
	if ci.GetValue() == "" {
		if ci.GetShell() {
			return nil, errors.New("shell command is not specified")
		}
		return nil, errors.New("executable is not specified")
	}
	var cmd *exec.Cmd
	if ci.GetShell() {
		cmd = exec.Command("/bin/sh", "-c", ci.GetValue())
	} else {
		cmd = exec.Command(ci.GetValue())
		if args := ci.GetArguments(); len(args) > 0 {
			cmd.Args = args
		}
		if cmd.Err != nil {
			return nil, cmd.Err
		}
	}
	cred, err := Credential(userName)
	if err != nil {
		return nil, err
	}
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: !session, Setsid: session, Credential: cred}
	return cmd, nil
}

// Credential is the user to switch to, or nil when no switch is needed or possible.
func Credential(name string) (*syscall.Credential, error) {
	if name == "" || os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("failed to find user %q: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: uid %q: %w", name, u.Uid, err)
	}
	if int(uid) == os.Geteuid() {
		return nil, nil
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: gid %q: %w", name, u.Gid, err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
	}
	return cred, nil
}

// ExitOutcome is the state and message for a task process that ended with ps, the way the
// Mesos command executor words it ("Command exited with status 3",
// "Command terminated with signal Killed").
func ExitOutcome(ps *os.ProcessState, waitErr error, killed bool) (mesos.TaskState, string) {
	if ps == nil {
		return mesos.TaskState_TASK_FAILED, fmt.Sprintf("Failed to get exit status for Command: %v", waitErr)
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	var msg string
	switch {
	case ws.Exited():
		msg = "Command exited with status " + strconv.Itoa(ws.ExitStatus())
	case ws.Signaled():
		msg = "Command terminated with signal " + SignalName(ws.Signal())
	default:
		msg = "Command " + ps.String()
	}
	switch {
	case killed:
		return mesos.TaskState_TASK_KILLED, msg
	case ws.Exited() && ws.ExitStatus() == 0:
		return mesos.TaskState_TASK_FINISHED, msg
	}
	return mesos.TaskState_TASK_FAILED, msg
}

// SignalName is strsignal(3)'s description: "Killed", "Terminated", "Segmentation fault".
func SignalName(s syscall.Signal) string {
	name := s.String()
	r, size := utf8.DecodeRuneInString(name)
	return string(unicode.ToUpper(r)) + name[size:]
}

// SignalGroup sends sig to the process group pgid; a group that is already gone is fine.
func SignalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 0 {
		return nil
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
