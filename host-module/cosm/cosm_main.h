/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: private declarations of the mic_cosm module.
 */
#ifndef MICEMU_COSM_MAIN_H
#define MICEMU_COSM_MAIN_H

#include "mic_cosm.h"

#define COSM_MAX_CARDS	128

extern const struct attribute_group *cosm_attr_groups[];

int cosm_start(struct cosm_device *cdev);
int cosm_reset(struct cosm_device *cdev);
int cosm_shutdown(struct cosm_device *cdev);
void cosm_stop(struct cosm_device *cdev, bool force);
const char *cosm_status_name(u8 status);

int cosm_scif_init(void);
void cosm_scif_exit(void);

void cosm_debugfs_init(void);
void cosm_debugfs_exit(void);
void cosm_debugfs_add(struct cosm_device *cdev);
void cosm_debugfs_remove(struct cosm_device *cdev);

#endif /* MICEMU_COSM_MAIN_H */
