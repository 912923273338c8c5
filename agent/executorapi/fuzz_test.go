package executorapi

import (
	"testing"

	"github.com/agoracluster/agora/apicodec"
	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
)

func FuzzExecutorCall(f *testing.F) {
	f.Add([]byte(`{"type":"SUBSCRIBE","framework_id":{"value":"fw"},"executor_id":{"value":"ex"},"subscribe":{}}`), true)
	f.Add([]byte(`{"type":"UPDATE","framework_id":{"value":"f"},"executor_id":{"value":"e"},"update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"AAAAAAAAAAAAAAAAAAAAAA=="}}}`), true)
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00}, false)
	f.Fuzz(func(t *testing.T, body []byte, json bool) {
		call := &executorpb.Call{}
		c := apicodec.Protobuf
		if json {
			c = apicodec.JSON
		}
		if err := c.Unmarshal(body, call); err != nil {
			return
		}
		_ = validateExecutorCall(call)
	})
}
