// Package master holds the Mesos v1 operator API of the master (generated from master.proto):
// the calls, responses and SUBSCRIBE events spoken on the master's POST /api/v1.
package master
