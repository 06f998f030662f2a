package opensearchtwin

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// srcLayouts are the timestamp spellings the store can rebuild byte for byte from an instant.
// A date string that matches none of them is kept as a plain string (still searchable as a date).
// Order matters only for speed: the common producers come first (Go's RFC 3339 with trimmed
// fraction, Jackson/Data Prepper millis, Python isoformat without a zone).
var srcLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.000Z07:00",
	"2006-01-02T15:04:05.000000Z07:00",
	"2006-01-02T15:04:05.000000000Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05.000000",
	"2006-01-02T15:04:05.000",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.000000-07:00",
	"2006-01-02T15:04:05.000-07:00",
	"2006-01-02",
}

// defaultDateLayout is how OpenSearch prints a date field's value with its default format
// (strict_date_optional_time): millisecond precision and a Z suffix.
const defaultDateLayout = "2006-01-02T15:04:05.000Z07:00"

const (
	nanosPerMilli = int64(time.Millisecond)
	maxNanosSec   = math.MaxInt64/int64(time.Second) - 1
)

// parseDate parses strict_date_optional_time: yyyy[-MM[-dd[Thh[:mm[:ss[.f]]][zone]]]]. A
// missing zone means UTC, as in OpenSearch. full requires at least yyyy-MM-dd, which is what
// dynamic date detection needs (a bare "2024" string must stay text).
func parseDate(b []byte, full bool) (sec int64, nsec int32, ok bool) {
	n := len(b)
	if n < 4 {
		return 0, 0, false
	}
	num := func(p, w int) (int, bool) {
		if p+w > n {
			return 0, false
		}
		v := 0
		for k := p; k < p+w; k++ {
			c := b[k]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok := num(0, 4)
	if !ok {
		return 0, 0, false
	}
	month, day, hour, minute, second, frac := 1, 1, 0, 0, 0, 0
	p := 4
	if p < n {
		if b[p] != '-' {
			return 0, 0, false
		}
		if month, ok = num(p+1, 2); !ok {
			return 0, 0, false
		}
		p += 3
		if p < n {
			if b[p] != '-' {
				return 0, 0, false
			}
			if day, ok = num(p+1, 2); !ok {
				return 0, 0, false
			}
			p += 3
		} else if full {
			return 0, 0, false
		}
	} else if full {
		return 0, 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return 0, 0, false
	}
	offset := 0
	if p < n {
		if b[p] != 'T' {
			return 0, 0, false
		}
		if hour, ok = num(p+1, 2); !ok {
			return 0, 0, false
		}
		p += 3
		if p < n && b[p] == ':' {
			if minute, ok = num(p+1, 2); !ok {
				return 0, 0, false
			}
			p += 3
			if p < n && b[p] == ':' {
				if second, ok = num(p+1, 2); !ok {
					return 0, 0, false
				}
				p += 3
				if p < n && (b[p] == '.' || b[p] == ',') {
					p++
					digits := 0
					for p < n && b[p] >= '0' && b[p] <= '9' {
						if digits < 9 {
							frac = frac*10 + int(b[p]-'0')
						}
						digits++
						p++
					}
					if digits == 0 {
						return 0, 0, false
					}
					for d := digits; d < 9; d++ {
						frac *= 10
					}
				}
			}
		}
		if hour > 23 || minute > 59 || second > 59 {
			return 0, 0, false
		}
		if p < n {
			switch b[p] {
			case 'Z':
				p++
			case '+', '-':
				sign := 1
				if b[p] == '-' {
					sign = -1
				}
				oh, ok := num(p+1, 2)
				if !ok {
					return 0, 0, false
				}
				p += 3
				om := 0
				if p < n && b[p] == ':' {
					p++
				}
				if p < n {
					if om, ok = num(p, 2); !ok {
						return 0, 0, false
					}
					p += 2
				}
				if oh > 18 || om > 59 {
					return 0, 0, false
				}
				offset = sign * (oh*3600 + om*60)
			default:
				return 0, 0, false
			}
		}
		if p != n {
			return 0, 0, false
		}
	}
	days := daysFromCivil(int64(year), month, day)
	sec = days*86400 + int64(hour*3600+minute*60+second) - int64(offset)
	return sec, int32(frac), true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	default:
		return 31
	}
}

// daysFromCivil is Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := int64((153*mp+2)/5 + d - 1)
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// nanosOf converts seconds+nanos to int64 nanoseconds when representable.
func nanosOf(sec int64, nsec int32) (int64, bool) {
	if sec > maxNanosSec || sec < -maxNanosSec {
		return 0, false
	}
	return sec*int64(time.Second) + int64(nsec), true
}

func millisOf(sec int64, nsec int32) int64 {
	return sec*1000 + int64(nsec)/int64(time.Millisecond)
}

// detectLayout returns the srcLayouts entry that prints (sec, nsec) exactly as s, trying hint first.
func detectLayout(s []byte, sec int64, nsec int32, hint int8) int8 {
	t := time.Unix(sec, int64(nsec)).UTC()
	var buf [48]byte
	if hint >= 0 && int(hint) < len(srcLayouts) {
		if string(t.AppendFormat(buf[:0], srcLayouts[hint])) == string(s) {
			return hint
		}
	}
	for i, l := range srcLayouts {
		if int8(i) == hint {
			continue
		}
		if string(t.AppendFormat(buf[:0], l)) == string(s) {
			return int8(i)
		}
	}
	return -1
}

// dateFormat is a date field's "format" (e.g. "strict_date_optional_time||epoch_millis"): the
// first alternative prints values, all of them parse.
type dateFormat struct {
	alts []string
}

const defaultDateFormat = "strict_date_optional_time||epoch_millis"

func newDateFormat(f string) (dateFormat, *apiError) {
	if f == "" {
		f = defaultDateFormat
	}
	var df dateFormat
	for a := range strings.SplitSeq(f, "||") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, ok := namedFormats[a]; !ok && a != "epoch_millis" && a != "epoch_second" {
			if _, err := javaLayout(a); err != nil {
				return df, errIllegalArg("Invalid format: [%s]: %v", f, err)
			}
		}
		df.alts = append(df.alts, a)
	}
	if len(df.alts) == 0 {
		return df, errIllegalArg("Invalid format: [%s]", f)
	}
	return df, nil
}

// namedFormats maps OpenSearch's built-in format names to Go layouts ("" = ISO parser).
var namedFormats = map[string]string{
	"strict_date_optional_time":       defaultDateLayout,
	"date_optional_time":              defaultDateLayout,
	"strict_date_optional_time_nanos": "2006-01-02T15:04:05.000000000Z07:00",
	"strict_date_time":                defaultDateLayout,
	"date_time":                       defaultDateLayout,
	"strict_date":                     "2006-01-02",
	"date":                            "2006-01-02",
	"basic_date":                      "20060102",
	"strict_date_hour_minute_second":  "2006-01-02T15:04:05",
	"date_hour_minute_second":         "2006-01-02T15:04:05",
	"strict_date_hour_minute":         "2006-01-02T15:04",
	"date_hour_minute":                "2006-01-02T15:04",
	"strict_date_hour":                "2006-01-02T15",
	"date_hour":                       "2006-01-02T15",
	"strict_hour_minute_second":       "15:04:05",
	"hour_minute_second":              "15:04:05",
}

// appendFormat appends format(ms, loc). The default format in UTC, the key of every histogram
// bucket, is written directly: a histogram can have 60,000 of them.
func (df dateFormat) appendFormat(dst []byte, ms int64, loc *time.Location) []byte {
	if loc == time.UTC && ms >= 0 && ms < 253402300800000 { // 1970 to 9999
		if a := df.alts[0]; namedFormats[a] == defaultDateLayout {
			return appendISOMillisUTC(dst, ms)
		}
	}
	return append(dst, df.format(ms, loc)...)
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// appendISOMillisUTC appends ms (from 1970 to 9999) as 2006-01-02T15:04:05.000Z.
func appendISOMillisUTC(dst []byte, ms int64) []byte {
	days, rem := ms/86400000, ms%86400000
	y, m, d := civilFromDays(days)
	two := func(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }
	dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	dst = two(dst, m)
	dst = append(dst, '-')
	dst = two(dst, d)
	dst = append(dst, 'T')
	dst = two(dst, int(rem/3600000))
	dst = append(dst, ':')
	dst = two(dst, int(rem/60000%60))
	dst = append(dst, ':')
	dst = two(dst, int(rem/1000%60))
	f := int(rem % 1000)
	return append(dst, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10), 'Z')
}

func (df dateFormat) format(ms int64, loc *time.Location) string {
	switch a := df.alts[0]; a {
	case "epoch_millis":
		return strconv.FormatInt(ms, 10)
	case "epoch_second":
		return strconv.FormatInt(floorDiv(ms, 1000), 10)
	default:
		layout, ok := namedFormats[a]
		if !ok {
			layout, _ = javaLayout(a) // validated in newDateFormat
		}
		return time.UnixMilli(ms).In(loc).Format(layout)
	}
}

var errNoDateFormat = errors.New("failed to parse with all enclosed parsers")

// parse parses s with each alternative in turn, returning epoch millis.
func (df dateFormat) parse(s string, loc *time.Location) (int64, error) {
	for _, a := range df.alts {
		switch a {
		case "epoch_millis":
			if v, err := strconv.ParseFloat(s, 64); err == nil && isNumeric(s) {
				return int64(math.Floor(v)), nil
			}
		case "epoch_second":
			if v, err := strconv.ParseFloat(s, 64); err == nil && isNumeric(s) {
				return int64(math.Floor(v * 1000)), nil
			}
		case "strict_date_optional_time", "date_optional_time", "strict_date_optional_time_nanos", "strict_date_time", "date_time":
			if sec, nsec, ok := parseDate([]byte(s), false); ok {
				ms := millisOf(sec, nsec)
				if loc != time.UTC && !hasZone(s) {
					ms -= zoneOffsetMillis(ms, loc)
				}
				return ms, nil
			}
		default:
			layout, ok := namedFormats[a]
			if !ok {
				var err error
				if layout, err = javaLayout(a); err != nil {
					continue
				}
			}
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t.UnixMilli(), nil
			}
		}
	}
	return 0, errNoDateFormat
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && c != '-' && c != '.' && c != '+' {
			return false
		}
	}
	return true
}

func hasZone(s string) bool {
	t := strings.IndexByte(s, 'T')
	if t < 0 {
		return false
	}
	rest := s[t:]
	return strings.ContainsAny(rest, "Z+") || strings.Contains(rest[1:], "-")
}

func zoneOffsetMillis(ms int64, loc *time.Location) int64 {
	_, off := time.UnixMilli(ms).In(loc).Zone()
	return int64(off) * 1000
}

// javaLayout converts a java.time pattern (as used in OpenSearch "format" strings) to a Go layout.
func javaLayout(p string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(p); {
		c := p[i]
		if c == '\'' {
			j := strings.IndexByte(p[i+1:], '\'')
			if j < 0 {
				return "", fmt.Errorf("unterminated quote in %q", p)
			}
			b.WriteString(p[i+1 : i+1+j])
			i += j + 2
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b.WriteByte(c)
			i++
			continue
		}
		j := i
		for j < len(p) && p[j] == c {
			j++
		}
		n := j - i
		var s string
		switch c {
		case 'y', 'u':
			s = map[bool]string{true: "06", false: "2006"}[n == 2]
		case 'M':
			s = [...]string{"1", "01", "Jan", "January"}[min(n, 4)-1]
		case 'd':
			s = map[bool]string{true: "2", false: "02"}[n == 1]
		case 'H':
			s = "15"
		case 'h':
			s = map[bool]string{true: "3", false: "03"}[n == 1]
		case 'm':
			s = map[bool]string{true: "4", false: "04"}[n == 1]
		case 's':
			s = map[bool]string{true: "5", false: "05"}[n == 1]
		case 'S':
			s = strings.Repeat("0", n)
		case 'a':
			s = "PM"
		case 'E':
			s = map[bool]string{true: "Monday", false: "Mon"}[n >= 4]
		case 'Z':
			s = "-0700"
		case 'X':
			s = [...]string{"Z07", "Z0700", "Z07:00"}[min(n, 3)-1]
		case 'x':
			s = [...]string{"-07", "-0700", "-07:00"}[min(n, 3)-1]
		default:
			return "", fmt.Errorf("unsupported pattern letter %q", c)
		}
		b.WriteString(s)
		i = j
	}
	return b.String(), nil
}

// parseTimeZone accepts "UTC", "Z", fixed offsets ("+02:00", "-0500") and IANA names.
func parseTimeZone(s string) (*time.Location, *apiError) {
	switch s {
	case "", "UTC", "Z", "utc", "Etc/UTC", "GMT", "+00:00", "-00:00":
		return time.UTC, nil
	}
	if s[0] == '+' || s[0] == '-' {
		t := strings.ReplaceAll(s[1:], ":", "")
		if len(t) == 2 {
			t += "00"
		}
		if len(t) == 4 {
			h, err1 := strconv.Atoi(t[:2])
			m, err2 := strconv.Atoi(t[2:])
			if err1 == nil && err2 == nil && h <= 18 && m < 60 {
				off := h*3600 + m*60
				if s[0] == '-' {
					off = -off
				}
				return time.FixedZone(s, off), nil
			}
		}
		return nil, errIllegalArg("time_zone must be valid: [%s]", s)
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, errIllegalArg("Unknown time-zone ID: %s", s)
	}
	return loc, nil
}

// parseDateMath resolves a date bound: a date in format df, "now" or "<date>||" followed by
// +/-N<unit> and /<unit> rounding. roundUp selects the end of the rounding unit, as OpenSearch
// does for gt and lte.
func parseDateMath(s string, df dateFormat, loc *time.Location, now time.Time, roundUp bool) (int64, error) {
	var anchor time.Time
	var rest string
	switch {
	case strings.HasPrefix(s, "now"):
		anchor, rest = now, s[3:]
	case strings.Contains(s, "||"):
		i := strings.Index(s, "||")
		ms, err := df.parse(s[:i], loc)
		if err != nil {
			return 0, err
		}
		anchor, rest = time.UnixMilli(ms), s[i+2:]
	default:
		return df.parse(s, loc)
	}
	t := anchor.In(loc)
	for len(rest) > 0 {
		op := rest[0]
		rest = rest[1:]
		switch op {
		case '+', '-':
			j := 0
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			n := 1
			if j > 0 {
				n, _ = strconv.Atoi(rest[:j])
			}
			if j >= len(rest) {
				return 0, fmt.Errorf("truncated date math [%s]", s)
			}
			unit := rest[j]
			rest = rest[j+1:]
			if op == '-' {
				n = -n
			}
			var err error
			if t, err = addUnit(t, unit, n); err != nil {
				return 0, fmt.Errorf("date math [%s]: %w", s, err)
			}
		case '/':
			if len(rest) == 0 {
				return 0, fmt.Errorf("truncated date math [%s]", s)
			}
			unit := rest[0]
			rest = rest[1:]
			start, err := truncUnit(t, unit)
			if err != nil {
				return 0, fmt.Errorf("date math [%s]: %w", s, err)
			}
			if roundUp {
				end, _ := addUnit(start, unit, 1)
				t = end.Add(-time.Millisecond)
			} else {
				t = start
			}
		default:
			return 0, fmt.Errorf("operator not supported for date math [%s]", s)
		}
	}
	return t.UnixMilli(), nil
}

func addUnit(t time.Time, unit byte, n int) (time.Time, error) {
	switch unit {
	case 'y':
		return t.AddDate(n, 0, 0), nil
	case 'M':
		return t.AddDate(0, n, 0), nil
	case 'w':
		return t.AddDate(0, 0, 7*n), nil
	case 'd':
		return t.AddDate(0, 0, n), nil
	case 'h', 'H':
		return t.Add(time.Duration(n) * time.Hour), nil
	case 'm':
		return t.Add(time.Duration(n) * time.Minute), nil
	case 's':
		return t.Add(time.Duration(n) * time.Second), nil
	}
	return t, fmt.Errorf("unit [%c] not supported", unit)
}

func truncUnit(t time.Time, unit byte) (time.Time, error) {
	y, mo, d := t.Date()
	loc := t.Location()
	switch unit {
	case 'y':
		return time.Date(y, 1, 1, 0, 0, 0, 0, loc), nil
	case 'q':
		return time.Date(y, mo-(mo-1)%3, 1, 0, 0, 0, 0, loc), nil
	case 'M':
		return time.Date(y, mo, 1, 0, 0, 0, 0, loc), nil
	case 'w':
		wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
		return time.Date(y, mo, d-wd, 0, 0, 0, 0, loc), nil
	case 'd':
		return time.Date(y, mo, d, 0, 0, 0, 0, loc), nil
	case 'h', 'H':
		return time.Date(y, mo, d, t.Hour(), 0, 0, 0, loc), nil
	case 'm':
		return time.Date(y, mo, d, t.Hour(), t.Minute(), 0, 0, loc), nil
	case 's':
		return time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), 0, loc), nil
	}
	return t, fmt.Errorf("unit [%c] not supported", unit)
}

// parseFixedInterval parses a fixed_interval ("30s", "1m", "2h", "1d", "500ms") into millis.
func parseFixedInterval(s string) (int64, *apiError) {
	units := []struct {
		suffix string
		ms     int64
	}{{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}}
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			n, err := strconv.ParseInt(strings.TrimSuffix(s, u.suffix), 10, 64)
			if err == nil && n > 0 {
				return n * u.ms, nil
			}
			break
		}
	}
	return 0, errIllegalArg("failed to parse setting [date_histogram.fixedInterval] with value [%s] as a time value: unit is missing or unrecognized", s)
}

// parseCalendarInterval parses a calendar_interval into its unit letter. Calendar intervals are
// single units only, as in OpenSearch ("2d" is rejected).
func parseCalendarInterval(s string) (byte, *apiError) {
	switch s {
	case "1s", "second":
		return 's', nil
	case "1m", "minute":
		return 'm', nil
	case "1h", "hour":
		return 'h', nil
	case "1d", "day":
		return 'd', nil
	case "1w", "week":
		return 'w', nil
	case "1M", "month":
		return 'M', nil
	case "1q", "quarter":
		return 'q', nil
	case "1y", "year":
		return 'y', nil
	}
	return 0, errIllegalArg("The supplied interval [%s] could not be parsed as a calendar interval.", s)
}

// rounding maps an instant to its bucket key and steps from one key to the next.
type rounding struct {
	fixed  int64 // fixed interval in millis, 0 for calendar
	unit   byte  // calendar unit
	loc    *time.Location
	offset int64
	utcish bool // location has a constant offset
	locOff int64

	// one-entry cache: consecutive documents usually share a calendar bucket
	lo, hi int64
}

func newRounding(fixedMs int64, unit byte, loc *time.Location, offset int64) *rounding {
	r := &rounding{fixed: fixedMs, unit: unit, loc: loc, offset: offset, lo: 1, hi: 0}
	name, off := time.Unix(0, 0).In(loc).Zone()
	_, off2 := time.Unix(1<<30, 0).In(loc).Zone()
	r.utcish = off == off2 && (loc == time.UTC || strings.HasPrefix(name, "+") || strings.HasPrefix(name, "-") || name == "UTC")
	r.locOff = int64(off) * 1000
	if unit != 0 && r.utcish {
		switch unit {
		case 's':
			r.fixed = 1000
		case 'm':
			r.fixed = 60000
		case 'h':
			r.fixed = 3600000
		case 'd':
			r.fixed = 86400000
		}
	}
	return r
}

func (r *rounding) round(ms int64) int64 {
	if r.fixed > 0 {
		// Buckets start at local midnight (or local multiples of the interval), so the
		// alignment point moves west by the zone's offset.
		shift := r.offset
		if r.utcish {
			shift -= r.locOff
		} else {
			shift -= zoneOffsetMillis(ms, r.loc)
		}
		return floorDiv(ms-shift, r.fixed)*r.fixed + shift
	}
	if ms >= r.lo && ms < r.hi {
		return r.lo
	}
	t := time.UnixMilli(ms - r.offset).In(r.loc)
	start, _ := truncUnit(t, r.unit)
	var end time.Time
	if r.unit == 'q' {
		end = start.AddDate(0, 3, 0)
	} else {
		end, _ = addUnit(start, r.unit, 1)
	}
	r.lo, r.hi = start.UnixMilli()+r.offset, end.UnixMilli()+r.offset
	return r.lo
}

func (r *rounding) next(key int64) int64 {
	if r.fixed > 0 {
		return r.round(key + r.fixed)
	}
	t := time.UnixMilli(key - r.offset).In(r.loc)
	var end time.Time
	if r.unit == 'q' {
		end = t.AddDate(0, 3, 0)
	} else {
		end, _ = addUnit(t, r.unit, 1)
	}
	return r.round(end.UnixMilli() + r.offset)
}
