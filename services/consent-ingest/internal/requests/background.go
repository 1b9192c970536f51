package requests

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/lifecycle"
	"github.com/consentry/consentry/services/consent-ingest/internal/notify"
)

// Run sends owed notifications, rejects requests whose verification expired and
// republishes moves whose events did not reach Kafka, until ctx ends.
func (f *Flow) Run(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		f.republish(ctx)
		f.notify(ctx)
		f.expire(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		case <-tick.C:
		}
	}
}

func (f *Flow) republish(ctx context.Context) {
	// A row is unpublished only between its write and Kafka's acknowledgement, unless
	// that publish failed: give an in-flight publish time to finish first.
	rows, err := f.store.Unpublished(ctx, f.now().Add(-10*time.Second), 100)
	if err != nil {
		f.warn(ctx, "listing unpublished requests failed", err)
		return
	}
	for _, r := range rows {
		if err := f.publish(ctx, r, r.Detail, r.UpdatedAt); err != nil {
			f.warn(ctx, "republishing a request failed", err)
			return
		}
	}
}

func (f *Flow) notify(ctx context.Context) {
	rows, err := f.store.Queued(ctx, 50)
	if err != nil {
		f.warn(ctx, "listing queued notifications failed", err)
		return
	}
	for _, r := range rows {
		var err error
		switch r.Status {
		case schemas.StatusVerifying:
			err = f.sendLink(ctx, r)
		case schemas.StatusForwardedToController:
			err = f.forward(ctx, r)
		}
		if err == nil {
			err = f.store.Notified(ctx, r.ID, r.Status)
		}
		if err != nil {
			// The receiver is down or refuses: the next round tries again.
			f.log.Warn("sending a request notification failed", "request_id", r.ID, "status", r.Status, "error", err)
		}
	}
}

func (f *Flow) expire(ctx context.Context) {
	rows, err := f.store.ExpiredVerifications(ctx, f.now(), 100)
	if err != nil {
		f.warn(ctx, "listing expired verifications failed", err)
		return
	}
	for _, r := range rows {
		detail := fmt.Sprintf("rejected: verification_expired: the person did not confirm within %s", f.cfg.VerifyTTL)
		if _, err := f.Move(ctx, r, schemas.StatusRejected, detail); err != nil && !isConflict(err) {
			f.warn(ctx, "rejecting an expired request failed", err)
			return
		}
	}
}

func isConflict(err error) bool {
	var ae *apierror.Error
	return errors.As(err, &ae) && ae.Code == apierror.StateConflict
}

func (f *Flow) warn(ctx context.Context, msg string, err error) {
	if ctx.Err() == nil {
		f.log.Warn(msg, "error", err)
	}
}

// sendLink gives the verification sender what it needs to email the person.
func (f *Flow) sendLink(ctx context.Context, r lifecycle.Request) error {
	token, err := f.cfg.Links.Sign(r.ID, r.VerifyExpiresAt)
	if err != nil {
		return err
	}
	ids, err := f.sealer.Open(ctx, r.Tenant, r.SubjectKey, r.Sealed)
	if err != nil {
		return err
	}
	return f.notifier.SendLink(ctx, f.cfg.SenderURL, notify.Link{
		RequestID: r.ID, Tenant: r.Tenant, RequestType: r.Type, SubjectID: ids.SubjectID, Email: ids.Email,
		ExpiresAt: r.VerifyExpiresAt.UTC(), VerifyURL: strings.TrimRight(f.cfg.VerifyBaseURL, "/") + "/verify/" + token,
	})
}

// forward tells the Customer, the controller, that one of its users asked: it decides
// and answers through POST /v1/privacy-requests/{id}/approve or /reject with its own key.
func (f *Flow) forward(ctx context.Context, r lifecycle.Request) error {
	url := f.cfg.ControllerURL(r.Tenant)
	if url == "" {
		// No webhook: the Customer finds it with GET /v1/privacy-requests?status=forwarded_to_controller.
		return nil
	}
	ids, err := f.sealer.Open(ctx, r.Tenant, r.SubjectKey, r.Sealed)
	if err != nil {
		return err
	}
	base := strings.TrimRight(f.cfg.VerifyBaseURL, "/") + "/v1/privacy-requests/" + r.ID
	fwd := notify.Forward{RequestID: r.ID, Tenant: r.Tenant, Type: r.Type, Reason: r.Reason, Scope: r.Scope,
		Jurisdiction: r.Jurisdiction, ReceivedAt: r.ReceivedAt.UTC(), SubjectID: ids.SubjectID, Email: ids.Email,
		ApproveURL: base + "/approve", RejectURL: base + "/reject"}
	if r.DeadlineAt != nil {
		d := r.DeadlineAt.UTC()
		fwd.DeadlineAt = &d
	}
	return f.notifier.SendForward(ctx, url, fwd)
}
