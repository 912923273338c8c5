// Package mesos holds the wire-compatible subset of the Mesos v1 API messages (generated from
// mesos.proto: same names, field numbers and enum values as Mesos), and the Mesos-form JSON
// encoding (MarshalJSON, UnmarshalJSON) that every Agora API uses for application/json.
package mesos
