// Package deps holds the batch framework's Chronos-style job dependencies: a Graph of every job's
// parents, its validation (unknown parents, cycles named job by job), the check the API runs
// before storing a job (CheckJob, answering with Metronome's 422 details), and the decision
// whether a child is due: every parent's latest run succeeded, after the child's latest run
// started (or the child never ran). It is pure: run times come in as data.
//
// Usage:
//
//	g := deps.Graph{} // every job id -> spec.Dependencies
//	if err := deps.CheckJob(g, spec.ID, spec.Dependencies); err != nil {
//		// 422: err is a *job.InvalidError naming /dependencies(i)
//	}
//	if kids := g.Children(id); len(kids) > 0 {
//		// refuse to delete id: kids depend on it
//	}
//	// after a run of a parent finishes, for each of its children:
//	if deps.Due(latestRunOfEachParent, latestRunOfChild) {
//		// start a run of the child
//	}
package deps
