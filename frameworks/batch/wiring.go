package batch

import (
	"github.com/agoracluster/agora/frameworks/batch/job"
)

// checkDeps validates the dependencies of all jobs.
func checkDeps(specs []*job.Spec) error {
	known := map[string]bool{}
	for _, s := range specs {
		known[s.ID] = true
	}
	var d []job.Detail
	for _, s := range specs {
		for _, p := range s.Dependencies {
			if !known[p] {
				d = append(d, job.Detail{Path: "/dependencies", Errors: []string{"unknown job " + p}})
			}
		}
	}
	if d != nil {
		return &job.InvalidError{Details: d}
	}
	return nil
}

func (b *Batch) startDependents(string) {}
