package pkcs12guard

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"errors"
	"hash"

	"golang.org/x/crypto/pbkdf2"
)

// errIncorrectPassword is the decoder's ErrIncorrectPassword: the MAC does
// not match.
var errIncorrectPassword = errors.New("incorrect password")

// verifyMac is go-pkcs12 v0.7.4's (mac.go, verifyMac and doMac): nil where
// the MAC matches, errIncorrectPassword where it does not, another error where
// the decoder cannot compute it. It first checks the iterations, so that it
// never runs a key derivation the guard has not bounded.
func verifyMac(m *macData, message, password []byte) error {
	if err := checkMAC(m, nil); err != nil {
		return err
	}
	expected, err := doMac(m, message, password)
	if err != nil {
		return err
	}
	if !hmac.Equal(m.Mac.Digest, expected) {
		return errIncorrectPassword
	}
	return nil
}

var errUnsupported = errors.New("unsupported")

func doMac(m *macData, message, password []byte) ([]byte, error) {
	if m.Mac.Algorithm.Algorithm.Equal(oidPBMAC1) {
		original, err := decodeBMPString(password)
		if err != nil {
			return nil, err
		}
		return doPBMAC1(m.Mac.Algorithm, message, []byte(original))
	}
	var hFn func() hash.Hash
	var key []byte
	switch {
	case m.Mac.Algorithm.Algorithm.Equal(oidSHA1):
		hFn = sha1.New
		key = pbkdf(sha1Sum, 20, 64, m.MacSalt, password, m.Iterations, 3, 20)
	case m.Mac.Algorithm.Algorithm.Equal(oidSHA256):
		hFn = sha256.New
		key = pbkdf(sha256Sum, 32, 64, m.MacSalt, password, m.Iterations, 3, 32)
	case m.Mac.Algorithm.Algorithm.Equal(oidSHA512):
		hFn = sha512.New
		key = pbkdf(sha512Sum, 64, 128, m.MacSalt, password, m.Iterations, 3, 64)
	default:
		return nil, errUnsupported
	}
	mac := hmac.New(hFn, key)
	mac.Write(message)
	return mac.Sum(nil), nil
}

func doPBMAC1(alg pkix.AlgorithmIdentifier, message, password []byte) ([]byte, error) {
	var params pbmac1Params
	if err := unmarshal(alg.Parameters.FullBytes, &params); err != nil {
		return nil, err
	}
	kdf, prf, ok := pbkdf2Of(params.Kdf)
	if !ok {
		return nil, errUnsupported
	}
	hFn, ok := hmacHash(params.MacAlg.Algorithm)
	if !ok {
		return nil, errUnsupported
	}
	if kdf.KeyLength < 20 || kdf.KeyLength > maxPBMAC1KeyLength {
		return nil, errUnsupported
	}
	key := pbkdf2.Key(password, kdf.Salt.Bytes, kdf.Iterations, kdf.KeyLength, prf)
	mac := hmac.New(hFn, key)
	mac.Write(message)
	return mac.Sum(nil), nil
}

// decryptionPassword is the password the decoder decrypts with once past the
// MAC (pkcs12.go, getSafeContents): the password as a zero-terminated
// BMPString, or, for the empty password when the MAC does not match it, no
// password at all. False where the decoder stops there: a password it cannot
// encode, a MAC that does not match, no MAC and a password.
func (f *file) decryptionPassword(password string) ([]byte, bool) {
	encoded, err := bmpStringZeroTerminated(password)
	if err != nil {
		return nil, false
	}
	if len(f.mac.Mac.Algorithm.Algorithm) == 0 {
		return encoded, password == ""
	}
	err = verifyMac(&f.mac, f.content, encoded)
	if err == errIncorrectPassword && password == "" {
		encoded = nil
		err = verifyMac(&f.mac, f.content, encoded)
	}
	return encoded, err == nil
}
