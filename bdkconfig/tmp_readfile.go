package bdkconfig

import (
	"fmt"
	"io"
	"os"
)

// TEMPORARY until internal/fileread lands.
func readFile(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d MiB", name, max>>20)
	}
	return data, nil
}
