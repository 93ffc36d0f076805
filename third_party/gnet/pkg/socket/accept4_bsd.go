// Copyright (c) 2020 The Gnet Authors. All rights reserved.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

//go:build dragonfly || freebsd

package socket

import "golang.org/x/sys/unix"

// Mantrid patch: sysAccept's body before accept4_linux.go (PATCHES.md).
func accept4(fd, flags int) (int, unix.Sockaddr, error) {
	return unix.Accept4(fd, flags)
}
