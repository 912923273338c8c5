// Package quota holds the Mesos v1 quota messages (generated from quota.proto): QuotaConfig
// (guarantees and limits, Mesos 1.9+), the legacy QuotaInfo and QuotaRequest, and QuotaStatus.
package quota
