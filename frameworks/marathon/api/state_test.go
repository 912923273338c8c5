package api

import (
	"maps"
	"slices"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/loop"
	"github.com/agoracluster/agora/frameworks/marathon/readiness"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
)

// fakeState is a State of apps and tasks without deployments, on the real task index.
type fakeState struct {
	now   time.Time
	apps  map[string]*app.App
	tasks *tasks.Index
}

func newFakeState(now time.Time) *fakeState {
	return &fakeState{now: now, apps: map[string]*app.App{}, tasks: tasks.NewIndex(nil)}
}

var _ State = (*fakeState)(nil)

func (f *fakeState) Now() time.Time                           { return f.now }
func (f *fakeState) App(id string) *app.App                   { return f.apps[id] }
func (f *fakeState) AppIDs() []string                         { return slices.Sorted(maps.Keys(f.apps)) }
func (f *fakeState) TasksOf(appID string) []*tasks.Task       { return f.tasks.OfApp(appID) }
func (f *fakeState) Deployments() []*loop.Deployment          { return make([]*loop.Deployment, 0) }
func (f *fakeState) Deploying() map[string]string             { return map[string]string{} }
func (f *fakeState) LastTaskFailure(string) *loop.TaskFailure { return nil }
func (f *fakeState) ReadinessResults(string, map[string]string) []readiness.Result {
	return []readiness.Result{}
}
