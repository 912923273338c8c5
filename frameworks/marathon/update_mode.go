package marathon

import (
	"net/http"
	"strconv"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// updateMode is how a PUT or PATCH of /v2/apps changes an app, as Marathon 1.5+ does it:
//   - PATCH merges the body into the current definition (fields the body leaves out keep
//     their value) and never creates an app;
//   - PUT merges the same way by default (query parameter partialUpdate=true, Marathon's
//     default for compatibility) and creates the app when it does not exist;
//   - PUT with partialUpdate=false replaces the whole definition: the body is read as a
//     new app definition (with the id from the path), so fields it leaves out take their
//     defaults; a body of only {"version": …} is then no rollback but an app without a
//     command, refused as Marathon refuses it.
type updateMode struct {
	create bool // an unknown app is created (PUT), else 404 (PATCH)
	merge  bool // the body is merged into the current definition, else it replaces it
}

// updateModeOf reads the mode of a PUT or PATCH request.
func updateModeOf(req *http.Request) updateMode {
	if req.Method == http.MethodPatch {
		return updateMode{merge: true}
	}
	return updateMode{create: true, merge: partialUpdateParam(req)}
}

// partialUpdateParam is the partialUpdate query parameter, true unless given as false.
func partialUpdateParam(req *http.Request) bool {
	v, err := strconv.ParseBool(req.URL.Query().Get("partialUpdate"))
	return err != nil || v
}

// apply computes the next definition of the existing app current (id) from body; the
// result carries current's version stamps for the caller to re-stamp.
func (u updateMode) apply(current *app.App, id string, body []byte) (*app.App, error) {
	if u.merge {
		return app.Update(current, body)
	}
	next, err := app.Parse(withID(body, id), "/")
	if err != nil {
		return nil, err
	}
	next.ID = id
	next.Version, next.VersionInfo = current.Version, current.VersionInfo
	return next, nil
}
