// Package resources is the Mesos resource model as a value type.
//
// A Resources value is a normalized bag of named quantities, one entry per
// (name, role, type, reservation stack, volume): scalars (cpus:4, mem:8192),
// ranges (ports:[31000-32000]) and sets (disks:{a,b}). Role "*" means
// unreserved; any other role alone means the quantity is statically reserved
// for that role. The text form is the one Mesos takes for --resources:
//
//	cpus:4;mem:8192;disk:20000;ports:[31000-32000];cpus(web):2
//
// Dynamic reservations (RESERVE) and their refinements carry the full
// reservation stack (type, role, principal, labels), and a persistent volume
// (CREATE) is disk with a Volume (persistence id, principal, container path,
// mode), as in Mesos 1.11's Resource message (reservation.go). Entries that
// differ in any of these are distinct: reserved resources never stand in for
// unreserved ones, nor one reservation for another, and a volume fits only
// whole. They render in Mesos's form,
// "disk(reservations: [(DYNAMIC,web,alice)])[v1:data:RW]:64", which Parse
// does not read (their input is the JSON form or protobuf).
//
// Scalars are fixed-point with three decimals, as in Mesos's Value::Scalar
// arithmetic, so that repeated Plus and Minus never drift. Values are
// immutable: every operation returns a new Resources and never modifies its
// operands, so a Resources can be shared freely between goroutines. The
// arithmetic (Plus, Minus, Contains) is written for the allocator's hot path:
// linear merges over sorted entries with at most one allocation per call
// (plus one per merged ranges or set entry).
//
// The package also converts to and from the Mesos v1 protobuf messages
// (Resource, Attribute) and parses agent attributes (rack:r1;zone:a).
package resources
