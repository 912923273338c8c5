// Package offers carves tasks out of Mesos offers. It is pure: no IO, no goroutines.
//
// An Offer wraps one *mesos.Offer and keeps track of what is still free as tasks are cut from
// it (Take, TakePorts, TakeTask); a Pool does the same first-fit across a batch of offers and
// says which offers went unused (to decline). Needs are written without reservations
// ("cpus:0.5;mem:64") and are served from the offer's reserved resources first, then from the
// unreserved ones; what Take returns carries the roles actually used, ready for a TaskInfo.
package offers
