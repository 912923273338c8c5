package allocator

import "github.com/agoracluster/agora/resources"

// Mesos's GPU rule (the master's --filter_gpu_resources, on by default): an agent with GPUs
// is offered only to frameworks with the GPU_RESOURCES capability, so that frameworks unaware
// of GPUs do not fill GPU machines with work that needs none. Frameworks with the capability
// are offered every agent.

// mayOffer reports whether fw may be offered resources on s.
func mayOffer(s *agent, fw *framework) bool { return fw.gpus || !s.hasGPUs }

// hasGPUs reports whether an agent's total holds any gpus, reserved or not.
func hasGPUs(total resources.Resources) bool { return total.Scalar("gpus") > 0 }
