// Package gpu finds the host's NVIDIA GPUs and hands them out to containers.
//
// Detection runs `nvidia-smi --query-gpu=index,uuid,name,memory.total,pci.bus_id
// --format=csv,noheader,nounits` (no cgo, no NVML) and finds each GPU's character device
// /dev/nvidia<minor> (the minor from /proc/driver/nvidia/gpus/<bus id>/information, else the
// index) for device cgroups. A host without nvidia-smi or without the driver has no GPUs and
// no error. An Allocator gives each container exactly the devices it asked for, never one
// device to two containers, and Env/Deny say what a container sees: NVIDIA_VISIBLE_DEVICES and
// CUDA_VISIBLE_DEVICES (UUIDs, which CUDA accepts whatever its device order; "void" for a
// container without GPUs, the NVIDIA container runtime's convention) and the /dev/nvidiaN
// devices its cgroup denies.
package gpu
