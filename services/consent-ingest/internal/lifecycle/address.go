package lifecycle

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"

	"github.com/consentry/consentry/platform/pseudonym"
)

// A confirmation link proves only that its reader controls the mailbox it went to. Sent
// to an address the request itself names, it proves nothing: anyone could ask to erase
// or export another person's data, give their own address and confirm. So the link goes
// only to the address Consentry holds on file for the subject (docs/privacy-requests.md).

// ErrNothingOnFile means Consentry holds no address for the subject to send a link to.
var ErrNothingOnFile = errors.New("no address is on file for the subject")

// ErrNotOnFile means the request names an address other than the one on file.
var ErrNotOnFile = errors.New("the address is not the one on file for the subject")

// LinkAddress is where the confirmation link of an unverified request goes: onFile, the
// address held for the subject ("" for none). named, the address the request gives, may
// be empty; when it is not, it must be onFile (compared normalised and in constant time,
// so an answer's timing tells nothing of the address on file).
func LinkAddress(named, onFile string) (string, error) {
	if onFile == "" {
		return "", ErrNothingOnFile
	}
	if named == "" {
		return onFile, nil
	}
	a := sha256.Sum256([]byte(pseudonym.NormalizeEmail(named)))
	b := sha256.Sum256([]byte(pseudonym.NormalizeEmail(onFile)))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return "", ErrNotOnFile
	}
	return onFile, nil
}
