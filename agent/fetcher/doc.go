// Package fetcher downloads a task's CommandInfo.uris into its sandbox before the executor
// starts, the way the Mesos fetcher does: http(s) URIs are fetched with GET, file:// URIs and
// absolute local paths are copied, executables are made executable and archives are unpacked.
//
// Every file is written through an os.Root opened on the sandbox, so neither an output_file, a
// name inside an archive nor a symlink planted by an archive can reach outside the sandbox.
package fetcher
