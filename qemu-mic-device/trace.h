/* SPDX-License-Identifier: GPL-2.0 */
/* The generated trace points of hw/misc/mic (see trace-events). */
#include "trace/trace-hw_misc_mic.h"
