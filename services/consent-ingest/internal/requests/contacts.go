package requests

import (
	"context"
	"errors"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/seal"
)

// AddressOnFile returns the email Consentry holds for the subject from its consents, or
// "" when it holds none. A subject whose key was destroyed (an erasure completed) has
// none: what was on file no longer opens.
func (f *Flow) AddressOnFile(ctx context.Context, tenant, subjectKey string) (string, error) {
	sealed, ok, err := f.store.Contact(ctx, tenant, subjectKey)
	if err != nil {
		return "", apierror.Wrap(apierror.Unavailable, "the request store is unavailable", err)
	}
	if !ok {
		return "", nil
	}
	ids, err := f.sealer.Open(ctx, tenant, subjectKey, sealed)
	switch {
	case errors.Is(err, seal.ErrShredded), errors.Is(err, seal.ErrNoKey):
		return "", nil
	case err != nil:
		return "", apierror.Wrap(apierror.Unavailable, "the key store is unavailable", err)
	}
	return ids.Email, nil
}
