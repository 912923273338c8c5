package ledger

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/agoracluster/agora/master/allocator"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	quotapb "github.com/agoracluster/agora/proto/mesos/v1/quota"
)

// The operator API's calls that change the books: weights, quotas and
// teardown. Each is all or nothing: a call with one bad entry changes nothing.

// UpdateWeights sets the weights of several roles (UPDATE_WEIGHTS, PUT
// /weights). Every entry is checked before any is set.
func (l *Ledger) UpdateWeights(ws []*mesos.WeightInfo) error {
	if len(ws) == 0 {
		return badRequest("Expecting at least one weight in 'weight_infos'")
	}
	seen := map[string]bool{}
	for i, w := range ws {
		if w.Weight == nil {
			return badRequest("weight_infos[%d]: 'weight' must be set", i)
		}
		if err := allocator.ValidWeight(w.GetRole(), w.GetWeight()); err != nil {
			return badRequest("weight_infos[%d]: %v", i, err)
		}
		if seen[w.GetRole()] {
			return badRequest("weight_infos[%d]: role %q appears twice", i, w.GetRole())
		}
		seen[w.GetRole()] = true
	}
	for _, w := range ws {
		if err := l.SetWeight(w.GetRole(), w.GetWeight()); err != nil {
			return badRequest("%v", err) // checked above; kept for safety
		}
	}
	l.note(zapcore.InfoLevel, "weights updated", zap.Int("roles", len(ws)))
	return nil
}

// UpdateQuotas sets the quotas of several roles (UPDATE_QUOTA): a config with
// neither guarantees nor limits removes the role's quota. Without force,
// guarantees that the cluster cannot meet are a conflict. When one config is
// refused, the ones set before it are put back.
func (l *Ledger) UpdateQuotas(configs []*quotapb.QuotaConfig, force bool) error {
	if len(configs) == 0 {
		return badRequest("Expecting at least one config in 'quota_configs'")
	}
	seen := map[string]bool{}
	for i, qc := range configs {
		if seen[qc.GetRole()] {
			return badRequest("quota_configs[%d]: role %q appears twice", i, qc.GetRole())
		}
		seen[qc.GetRole()] = true
	}
	before := l.alloc.Quotas()
	for i, qc := range configs {
		err := l.alloc.SetQuota(qc.GetRole(), QuotaOf(qc), force)
		if err == nil {
			l.dirty.quotas[qc.GetRole()] = true
			continue
		}
		for _, prev := range configs[:i] {
			_ = l.alloc.SetQuota(prev.GetRole(), before[prev.GetRole()], true)
			delete(l.dirty.quotas, prev.GetRole())
		}
		if errors.Is(err, allocator.ErrQuotaExceedsCapacity) {
			return &callError{kind: ErrConflict, msg: fmt.Sprintf("quota_configs[%d]: %v (set 'force' to set it anyway)", i, err)}
		}
		return badRequest("quota_configs[%d]: %v", i, err)
	}
	l.requestAllocation()
	l.note(zapcore.InfoLevel, "quotas updated", zap.Strings("roles", slices.Sorted(maps.Keys(seen))))
	return nil
}

// SetLegacyQuota is Mesos's pre-1.9 SET_QUOTA and POST /quota: the role must not
// have a quota yet; its guarantee becomes both the guarantee and the limit, as
// Mesos 1.9+ does for these requests.
func (l *Ledger) SetLegacyQuota(req *quotapb.QuotaRequest) error {
	role := req.GetRole()
	if role == "" {
		return badRequest("quota_request.role: must be set")
	}
	if _, ok := l.alloc.Quotas()[role]; ok {
		return &callError{kind: ErrConflict, msg: "Quota cannot be set for role '" + role + "' which already has quota; use UPDATE_QUOTA or remove it first"}
	}
	res, err := parseResources(req.GetGuarantee())
	if err != nil {
		return badRequest("quota_request.guarantee: %v", err)
	}
	amounts := allocator.Quantities{}
	for _, name := range res.Names() {
		if v := res.Scalar(name); v > 0 {
			amounts[name] = v
		} else {
			return badRequest("quota_request.guarantee: %s: only positive scalar resources can have quota", name)
		}
	}
	if len(amounts) == 0 {
		return badRequest("quota_request.guarantee: must name at least one resource")
	}
	qc := QuotaConfig(role, allocator.Quota{Guarantees: amounts, Limits: maps.Clone(amounts)})
	return l.UpdateQuotas([]*quotapb.QuotaConfig{qc}, req.GetForce())
}

// RemoveQuota is REMOVE_QUOTA and DELETE /quota/{role}.
func (l *Ledger) RemoveQuota(role string) error {
	if _, ok := l.alloc.Quotas()[role]; !ok {
		return &callError{kind: ErrNotFound, msg: "Cannot remove non-existent quota for role '" + role + "'"}
	}
	return l.UpdateQuotas([]*quotapb.QuotaConfig{{Role: &role}}, true)
}

// FrameworkPrincipal is the principal of a registered framework ("" when it has none);
// false when no framework has that id.
func (l *Ledger) FrameworkPrincipal(id string) (string, bool) {
	fw := l.frameworks[id]
	if fw == nil {
		return "", false
	}
	return fw.info.GetPrincipal(), true
}

// TeardownFramework is the operator's TEARDOWN (and Mesos's /teardown): the
// framework is removed, its tasks killed and its resources recovered.
func (l *Ledger) TeardownFramework(id string) error {
	fw := l.frameworks[id]
	if fw == nil {
		if l.completedFramework(id) != nil {
			return &callError{kind: ErrNotFound, msg: "Framework " + id + " was already torn down"}
		}
		return &callError{kind: ErrNotFound, msg: "No framework found with ID " + id}
	}
	l.note(zapcore.InfoLevel, "framework torn down by the operator", zap.String("framework_id", id))
	l.removeFramework(fw)
	return nil
}
