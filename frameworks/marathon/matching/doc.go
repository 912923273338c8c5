// Package matching places the launches that wait in the queue on offers: Match carves
// each request's tasks out of the offers, first fit in request order, checking the
// accepted roles, the constraints against the offer's agent and the app's placed tasks,
// the scalar resources and the host ports, and counts per request why offers did not fit
// (Marathon's processedOffersSummary reasons). It is pure: offers are carved in memory.
package matching
