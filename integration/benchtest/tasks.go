package benchtest

import (
	"sort"
	"strconv"
	"time"

	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"google.golang.org/protobuf/proto"
)

// SleepTask returns a command task that runs `sleep seconds` directly (no shell), so that
// each task is exactly one process under its executor.
func SleepTask(id string, seconds int, res resources.Resources) *mesos.TaskInfo {
	t := sdk.CommandTask(id, id, "", res)
	t.Command = &mesos.CommandInfo{
		Shell:     proto.Bool(false),
		Value:     proto.String("/bin/sleep"),
		Arguments: []string{"sleep", strconv.Itoa(seconds)},
	}
	return t
}

// Percentile returns the p-th percentile (0 < p <= 100) of ds by the nearest-rank method.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(p/100*float64(len(s)) + 0.999999)
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}
