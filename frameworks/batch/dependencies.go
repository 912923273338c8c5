package batch

import (
	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/batch/deps"
)

// graph is every job's parents.
func (b *Batch) graph() deps.Graph {
	g := make(deps.Graph, len(b.jobs))
	for id, j := range b.jobs {
		g[id] = j.spec.Dependencies
	}
	return g
}

// latestRun is the run of a job started last, as deps sees it; nil if it never ran.
func (b *Batch) latestRun(jobID string) *deps.Run {
	var out *deps.Run
	for _, r := range b.runs {
		if r.JobID != jobID || out != nil && !r.CreatedAt.After(out.Started) {
			continue
		}
		out = &deps.Run{Started: r.CreatedAt, Success: r.Status == "SUCCESS"}
		if r.Status.Terminal() && r.CompletedAt != nil {
			out.Finished = *r.CompletedAt
		}
	}
	if j := b.jobs[jobID]; j != nil {
		for _, s := range j.history.Runs {
			if out == nil || s.CreatedAt.After(out.Started) {
				out = &deps.Run{Started: s.CreatedAt, Finished: s.FinishedAt, Success: s.Status == "SUCCESS"}
			}
		}
	}
	return out
}

// startDependents starts the children of a job whose run just finished, where package deps
// says they are due.
func (b *Batch) startDependents(parentID string) {
	for _, child := range b.graph().Children(parentID) {
		j := b.jobs[child]
		if j == nil {
			continue
		}
		parents := make([]*deps.Run, 0, len(j.spec.Dependencies))
		for _, p := range j.spec.Dependencies {
			parents = append(parents, b.latestRun(p))
		}
		if deps.Due(parents, b.latestRun(child)) {
			b.log.Info("dependencies satisfied", zap.String("job_id", child), zap.String("parent", parentID))
			b.startRun(j, triggerDeps, nil)
		}
	}
}
