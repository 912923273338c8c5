package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"
	"go.uber.org/zap"
)

// PullError is a failed image pull; Err carries the engine's (registry's) message. The task
// cannot start: the executor reports TASK_FAILED with this message.
type PullError struct {
	Image string
	Err   error
}

func (e *PullError) Error() string { return fmt.Sprintf("docker: pull image %q: %v", e.Image, e.Err) }
func (e *PullError) Unwrap() error { return e.Err }

// ensureImage uses a local image unless force is set, and pulls it otherwise.
func (r *Runtime) ensureImage(ctx context.Context, log *zap.Logger, ref string, force bool) error {
	if !force {
		_, err := r.cli.ImageInspect(ctx, ref)
		if err == nil {
			return nil
		}
		if !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("docker: inspect image %q: %w", ref, err)
		}
		log.Info("image not present locally; pulling", zap.String("image", ref))
	} else {
		log.Info("pulling image (force_pull_image)", zap.String("image", ref))
	}
	if err := r.pull(ctx, log, ref); err != nil {
		return &PullError{Image: ref, Err: err}
	}
	log.Info("image pulled", zap.String("image", ref))
	return nil
}

// pull pulls ref, logging each layer's status changes; an error message in the progress stream
// fails the pull.
func (r *Runtime) pull(ctx context.Context, log *zap.Logger, ref string) error {
	rc, err := r.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	status := map[string]string{} // layer id -> last status logged
	for {
		var msg jsonmessage.JSONMessage
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read pull progress: %w", err)
		}
		if msg.Error != nil {
			return errors.New(msg.Error.Message)
		}
		if msg.ErrorMessage != "" { //nolint:staticcheck // older engines set only this field
			return errors.New(msg.ErrorMessage) //nolint:staticcheck
		}
		if msg.ID != "" && status[msg.ID] == msg.Status {
			continue // progress ticks of the same state
		}
		status[msg.ID] = msg.Status
		log.Info("pull progress", zap.String("image", ref), zap.String("layer", msg.ID), zap.String("status", msg.Status))
	}
}
