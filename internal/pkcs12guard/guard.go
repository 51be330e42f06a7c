// Package pkcs12guard refuses PKCS#12 files that would make the decoder spend
// unbounded time before it can tell a wrong password.
package pkcs12guard

import (
	"encoding/asn1"
	"fmt"
)

// A PKCS#12 file names its own key-derivation iteration counts (for its MAC
// and for each encrypted part), and go-pkcs12 runs them before it can tell a
// wrong password: a 1 KiB file asking for 2^40 iterations would hold a core
// for days. CheckIterations refuses such files before they are decoded.

// maxPKCS12Iterations is far above what tools write (OpenSSL: 2048, Java
// keytool: 10 000, go-pkcs12 Modern2023: 2048 to 600 000 with PBKDF2) and
// costs about a second at most.
const maxPKCS12Iterations = 10_000_000

// Bounds on the DER walk itself.
const (
	maxPKCS12Depth = 24
	maxPKCS12Nodes = 1 << 16
)

// CheckIterations walks the DER of a PFX — and the DER inside its
// OCTET STRINGs, where the encrypted parts and their parameters live — and
// fails if an iteration count exceeds maxPKCS12Iterations. An iteration count
// is recognized by its place: an INTEGER right after an OCTET STRING (the
// salt) in a SEQUENCE, as in MacData, pkcs-12PbeParams and PBKDF2-params.
// Anything that is not DER is left for the decoder to refuse.
func CheckIterations(der []byte) error {
	nodes := 0
	return walkPKCS12(der, 0, &nodes)
}

func walkPKCS12(der []byte, depth int, nodes *int) error {
	if depth > maxPKCS12Depth {
		return nil
	}
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			return nil // not DER (any more): the decoder will say so
		}
		if *nodes++; *nodes > maxPKCS12Nodes {
			return fmt.Errorf("the file is too complex to be a PKCS#12 file")
		}
		if err := checkElement(v, depth, nodes); err != nil {
			return err
		}
		der = rest
	}
	return nil
}

func checkElement(v asn1.RawValue, depth int, nodes *int) error {
	switch {
	case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSequence:
		if err := checkSaltThenCount(v.Bytes); err != nil {
			return err
		}
		return walkPKCS12(v.Bytes, depth+1, nodes)
	case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString,
		v.Class == asn1.ClassContextSpecific && v.IsCompound:
		return walkPKCS12(v.Bytes, depth+1, nodes)
	}
	return nil
}

// checkSaltThenCount checks the INTEGER that follows an OCTET STRING among
// the elements of one SEQUENCE.
func checkSaltThenCount(elements []byte) error {
	afterOctets := false
	for len(elements) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(elements, &v)
		if err != nil {
			return nil
		}
		if afterOctets && v.Class == asn1.ClassUniversal && v.Tag == asn1.TagInteger {
			var n int64
			if _, err := asn1.Unmarshal(elements, &n); err != nil || n > maxPKCS12Iterations {
				return fmt.Errorf("the file asks for more than %d key-derivation iterations; refusing to spend that long on it", maxPKCS12Iterations)
			}
		}
		afterOctets = v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString
		elements = rest
	}
	return nil
}
