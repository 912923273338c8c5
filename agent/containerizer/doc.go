// Package containerizer starts, watches and stops executor containers for the agent,
// behind one Containerizer interface: Process runs each executor as a process in a session
// of its own (cgroups through agent/isolation where the host allows); Hosted runs Agora's
// command executors side by side in the executor host (agent/exechost); Docker runs the
// command executors of DOCKER tasks, whose containers it removes once they end and cleans
// up at start. Router sends each container to the one that runs it. Every containerizer
// adopts the live containers of a previous agent run (Recover), and whatever an executor
// leaves behind in its session is killed with it.
package containerizer
