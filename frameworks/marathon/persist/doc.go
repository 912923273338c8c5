// Package persist keeps the framework's state in a store.Store, one key per entity (so no
// record nears ZooKeeper's 1 MiB limit): the key layout (apps/, versions/, rootversions/,
// deployments/, tasks/, groups/, framework_id), JSON records read back at start
// (LoadAll), the stored versions of apps and of the root group with Marathon's pruning
// (Store), and Writer, which writes task records behind the loop, coalesced per key.
package persist
