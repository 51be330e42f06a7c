package pkcs12guard

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/x509/pkix"

	"golang.org/x/crypto/pbkdf2"
)

// decrypt decrypts info with password as go-pkcs12 v0.7.4's pbDecrypt does
// (crypto.go): same algorithms, same key derivations (its own PKCS#12 KDF,
// golang.org/x/crypto/pbkdf2), same checks; false where pbDecrypt fails. It
// first checks the iterations, so that it never runs a key derivation the
// guard has not bounded.
func decrypt(info decryptable, password []byte) ([]byte, bool) {
	alg := info.Algorithm()
	if checkEncryption("", alg, nil) != nil {
		return nil, false
	}
	block, iv, ok := pbeCipherFor(alg, password)
	if !ok {
		return nil, false
	}
	encrypted := info.Data()
	if len(encrypted) == 0 || len(encrypted)%block.BlockSize() != 0 {
		return nil, false
	}
	decrypted := make([]byte, len(encrypted))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(decrypted, encrypted)
	psLen := int(decrypted[len(decrypted)-1])
	if psLen == 0 || psLen > block.BlockSize() || len(decrypted) < psLen {
		return nil, false
	}
	ps := decrypted[len(decrypted)-psLen:]
	if !bytes.Equal(ps, bytes.Repeat([]byte{byte(psLen)}, psLen)) {
		return nil, false
	}
	return decrypted[:len(decrypted)-psLen], true
}

// pbeCipherFor is the decoder's: the cipher and IV of alg for password (a
// zero-terminated BMPString, or nil).
func pbeCipherFor(alg pkix.AlgorithmIdentifier, password []byte) (cipher.Block, []byte, bool) {
	var keyLen int
	var create func([]byte) (cipher.Block, error)
	switch {
	case alg.Algorithm.Equal(oidPBEWithSHAAnd3KeyTripleDESCBC):
		keyLen, create = 24, des.NewTripleDESCipher
	case alg.Algorithm.Equal(oidPBEWithSHAAnd128BitRC2CBC):
		keyLen, create = 16, func(key []byte) (cipher.Block, error) { return newRC2(key, len(key)*8) }
	case alg.Algorithm.Equal(oidPBEWithSHAAnd40BitRC2CBC):
		keyLen, create = 5, func(key []byte) (cipher.Block, error) { return newRC2(key, len(key)*8) }
	case alg.Algorithm.Equal(oidPBES2):
		// PBES2 takes the password as UTF-8 (RFC 8018), as the decoder does.
		original, err := decodeBMPString(password)
		if err != nil {
			return nil, nil, false
		}
		return pbes2CipherFor(alg, []byte(original))
	default:
		return nil, nil, false
	}
	var params pbeParams
	if unmarshal(alg.Parameters.FullBytes, &params) != nil {
		return nil, nil, false
	}
	key := pbkdf(sha1Sum, 20, 64, params.Salt, password, params.Iterations, 1, keyLen)
	iv := pbkdf(sha1Sum, 20, 64, params.Salt, password, params.Iterations, 2, 8)
	block, err := create(key)
	if err != nil {
		return nil, nil, false
	}
	return block, iv, true
}

// pbes2CipherFor is the decoder's.
func pbes2CipherFor(alg pkix.AlgorithmIdentifier, password []byte) (cipher.Block, []byte, bool) {
	var params pbes2Params
	if unmarshal(alg.Parameters.FullBytes, &params) != nil {
		return nil, nil, false
	}
	kdf, prf, ok := pbkdf2Of(params.Kdf)
	if !ok {
		return nil, nil, false
	}
	var keyLen int
	switch {
	case params.EncryptionScheme.Algorithm.Equal(oidAES256CBC):
		keyLen = 32
	case params.EncryptionScheme.Algorithm.Equal(oidAES192CBC):
		keyLen = 24
	case params.EncryptionScheme.Algorithm.Equal(oidAES128CBC):
		keyLen = 16
	default:
		return nil, nil, false
	}
	key := pbkdf2.Key(password, kdf.Salt.Bytes, kdf.Iterations, keyLen, prf)
	iv := params.EncryptionScheme.Parameters.Bytes
	block, err := aes.NewCipher(key)
	if err != nil || len(iv) != block.BlockSize() {
		return nil, nil, false
	}
	return block, iv, true
}
