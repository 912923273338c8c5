package zookeeper

import (
	"fmt"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"
)

// NewLogger adapts a zap logger to the zk client library's Logger. The
// library only reports trouble through it (failed dials, dropped
// connections, failed authentication), so messages go out as warnings.
func NewLogger(log *zap.Logger) zk.Logger { return zapLogger{log.WithOptions(zap.AddCallerSkip(1))} }

type zapLogger struct{ log *zap.Logger }

func (l zapLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...))
}
