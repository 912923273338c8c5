package resources

import (
	"math"
	"strconv"
)

// Scalar is a non-negative fixed-point quantity with three decimals: the
// value 1.5 is stored as 1500. Mesos rounds scalars to the same precision.
type Scalar int64

// scalarUnit is the number of Scalar units in 1.0.
const scalarUnit = 1000

// MaxScalar is the largest Scalar (10^15). Parsing rejects larger values
// and arithmetic saturates here, so every Scalar renders as text that
// parses back to itself.
const MaxScalar Scalar = 1e15 * scalarUnit

const maxScalarFloat = float64(MaxScalar / scalarUnit)

// ScalarFromFloat converts f to the nearest Scalar (three decimals). Negative
// values and NaN become 0; values beyond the representable range saturate.
func ScalarFromFloat(f float64) Scalar {
	switch {
	case !(f > 0): // also catches NaN
		return 0
	case f >= maxScalarFloat:
		return MaxScalar
	}
	return Scalar(math.Round(f * scalarUnit))
}

// Float64 returns s as a float64.
func (s Scalar) Float64() float64 { return float64(s) / scalarUnit }

// String renders s with up to three decimals and no trailing zeros: "4", "0.5".
func (s Scalar) String() string {
	return string(s.appendText(nil))
}

func (s Scalar) appendText(b []byte) []byte {
	if s < 0 {
		b = append(b, '-')
		s = -s
	}
	b = strconv.AppendInt(b, int64(s/scalarUnit), 10)
	frac := int64(s % scalarUnit)
	if frac == 0 {
		return b
	}
	b = append(b, '.')
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for n > 1 && digits[n-1] == '0' {
		n--
	}
	return append(b, digits[:n]...)
}

// addScalar adds with saturation instead of overflow.
func addScalar(a, b Scalar) Scalar {
	if a > MaxScalar-b {
		return MaxScalar
	}
	return a + b
}
