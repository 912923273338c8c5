// Package agorapb holds Agora's own master <-> agent protocol (generated from agent.proto,
// which documents it): the agent subscribes to the master on POST /api/v1/agent.
package agorapb
