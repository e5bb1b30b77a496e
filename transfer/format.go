package transfer

import "fmt"

// formatBytes formats a byte count for people, in SI units: "512 bytes", "3.1 MB", "17.2 GB".
func formatBytes(n int64) string {
	if n < 1000 {
		if n == 1 {
			return "1 byte"
		}
		return fmt.Sprintf("%d bytes", n)
	}
	const units = "kMGTPE"
	v := float64(n) / 1000
	i := 0
	for v >= 999.95 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %cB", v, units[i])
}
