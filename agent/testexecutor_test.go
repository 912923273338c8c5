package agent

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
	"github.com/agoracluster/agora/recordio"
)

// runTestExecutor is a tiny executor speaking the v1 executor API in JSON. Each task's
// command value (or data) says what to do:
//
//	finish    TASK_RUNNING, then TASK_FINISHED
//	run       TASK_RUNNING, then wait for KILL and answer TASK_KILLED
//	exit:N    TASK_RUNNING, then exit with status N
//
// With TEST_MODE=noregister in its environment it never subscribes. It exits once every
// task ended and its updates were acknowledged, or on SHUTDOWN (ignored with
// TEST_MODE=ignoreshutdown).
func runTestExecutor() int {
	if os.Getenv("TEST_MODE") == "noregister" {
		time.Sleep(time.Hour)
		return 0
	}
	e := &testExecutor{
		endpoint: "http://" + os.Getenv("MESOS_AGENT_ENDPOINT") + "/api/v1/executor",
		fid:      os.Getenv("MESOS_FRAMEWORK_ID"),
		eid:      os.Getenv("MESOS_EXECUTOR_ID"),
		unacked:  map[string]bool{},
		live:     map[string]bool{},
	}
	if err := e.run(); err != nil {
		fmt.Fprintln(os.Stderr, "test executor:", err)
		return 1
	}
	return 0
}

type testExecutor struct {
	endpoint, fid, eid string
	unacked            map[string]bool
	live               map[string]bool
	launched           bool
}

func (e *testExecutor) call(c *executorpb.Call) (*http.Response, error) {
	c.FrameworkId = &mesos.FrameworkID{Value: proto.String(e.fid)}
	c.ExecutorId = &mesos.ExecutorID{Value: proto.String(e.eid)}
	body, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(c)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequest(http.MethodPost, e.endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return http.DefaultClient.Do(req)
}

func (e *testExecutor) update(tid string, state mesos.TaskState) error {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	e.unacked[string(id)] = true
	resp, err := e.call(&executorpb.Call{Type: executorpb.Call_UPDATE.Enum(), Update: &executorpb.Call_Update{
		Status: &mesos.TaskStatus{TaskId: &mesos.TaskID{Value: proto.String(tid)}, State: state.Enum(),
			Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum(), Uuid: id}}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("update: %s", resp.Status)
	}
	if state.IsTerminal() {
		delete(e.live, tid)
	}
	return nil
}

func (e *testExecutor) run() error {
	resp, err := e.call(&executorpb.Call{Type: executorpb.Call_SUBSCRIBE.Enum(), Subscribe: &executorpb.Call_Subscribe{}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("subscribe: %s: %s", resp.Status, b)
	}
	rd := recordio.NewReader(resp.Body, 0)
	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			return err
		}
		var ev executorpb.Event
		if err := protojson.Unmarshal(rec, &ev); err != nil {
			return err
		}
		switch ev.GetType() {
		case executorpb.Event_LAUNCH:
			if err := e.launch(ev.GetLaunch().GetTask()); err != nil {
				return err
			}
		case executorpb.Event_LAUNCH_GROUP:
			for _, t := range ev.GetLaunchGroup().GetTaskGroup().GetTasks() {
				if err := e.launch(t); err != nil {
					return err
				}
			}
		case executorpb.Event_KILL:
			if tid := ev.GetKill().GetTaskId().GetValue(); e.live[tid] {
				if err := e.update(tid, mesos.TaskState_TASK_KILLED); err != nil {
					return err
				}
			}
		case executorpb.Event_ACKNOWLEDGED:
			delete(e.unacked, string(ev.GetAcknowledged().GetUuid()))
		case executorpb.Event_SHUTDOWN:
			if os.Getenv("TEST_MODE") == "ignoreshutdown" {
				continue // waits for the agent's SIGKILL
			}
			for tid := range e.live {
				_ = e.update(tid, mesos.TaskState_TASK_KILLED)
			}
			return nil
		}
		if e.launched && len(e.live) == 0 && len(e.unacked) == 0 {
			return nil
		}
	}
}

func (e *testExecutor) launch(t *mesos.TaskInfo) error {
	e.launched = true
	tid := t.GetTaskId().GetValue()
	e.live[tid] = true
	if err := e.update(tid, mesos.TaskState_TASK_RUNNING); err != nil {
		return err
	}
	what := t.GetCommand().GetValue()
	if what == "" {
		what = string(t.GetData())
	}
	switch {
	case what == "finish":
		return e.update(tid, mesos.TaskState_TASK_FINISHED)
	case strings.HasPrefix(what, "exit:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(what, "exit:"))
		os.Exit(n)
	}
	return nil
}
