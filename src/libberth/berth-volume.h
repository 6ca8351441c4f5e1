/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Data volumes: directories outside every container's overlay, bind-mounted
 * into containers, so their writes go straight to the disk, are never part
 * of a container's diff or commit, and outlive the containers. Stored under
 * <root>/volumes:
 *
 *   <name>/_data          what containers see
 *   <name>/volume.json    name, creation time, labels, anonymous or not
 *   .new-<name>-XXXXXX    a creation under way (removed at open)
 *   .gone-<name>-XXXXXX   a removal under way (finished at open)
 *
 * A volume appears by the rename of a complete directory and disappears by
 * a rename before its content is removed, so a crash leaves whole volumes
 * or leftovers that the next open removes. The store is safe to use from
 * several threads. (The names stay clear of those gdbus-codegen makes for
 * the org.berth.berth1.Volume interface: berth_volume_get_*, ...) */

/* Volume names as docker takes them: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most
 * this many bytes. */
#define BERTH_VOLUME_NAME_MAX 255

typedef struct _BerthVolumeStore BerthVolumeStore;

typedef struct
{
  char *name;
  char *mountpoint;   /* <root>/volumes/<name>/_data */
  gint64 created;     /* microseconds since the epoch */
  GHashTable *labels; /* never NULL */
  gboolean anonymous; /* made for a container (-v /path, an image's VOLUME) */
} BerthVolumeInfo;

BerthVolumeInfo *berth_volume_info_copy (const BerthVolumeInfo *info);
void berth_volume_info_free (BerthVolumeInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthVolumeInfo, berth_volume_info_free)

/* Checks a volume name; the error (InvalidArgument) says what is wrong. */
gboolean berth_volume_name_validate (const char *name, GError **error);
/* A new anonymous volume's name: 64 random hex digits. */
char *berth_volume_new_anonymous_name (void);

/* Opens (creating) <root>/volumes, removes what interrupted creations and
 * removals left, and reads every volume. *out_removed (may be NULL) counts
 * the leftovers removed. */
BerthVolumeStore *berth_volume_store_open (const char *root, guint *out_removed, GError **error);
void berth_volume_store_free (BerthVolumeStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthVolumeStore, berth_volume_store_free)
const char *berth_volume_store_get_dir (BerthVolumeStore *store);

/* Creates the volume @name (NULL: an anonymous one with a new name) with
 * @labels (may be NULL). With @fill_rootfs, the new volume is first filled
 * from @fill_path under it (berth_volume_populate) and synced: a volume
 * appears complete or not at all. When a volume of that name exists it is
 * returned as it is (never filled) and *out_created (may be NULL) is
 * FALSE. */
BerthVolumeInfo *berth_volume_store_create (BerthVolumeStore *store, const char *name,
                                            GHashTable *labels, gboolean anonymous,
                                            const char *fill_rootfs, const char *fill_path,
                                            gboolean *out_created, GError **error);
/* A copy of the volume's record; NoSuchVolume when there is none. */
BerthVolumeInfo *berth_volume_store_lookup (BerthVolumeStore *store, const char *name,
                                            GError **error);
/* Copies of every volume's record, sorted by name. */
GPtrArray *berth_volume_store_list (BerthVolumeStore *store);
/* Removes the volume and its content (NoSuchVolume when there is none).
 * Whether containers use it is the caller's business. */
gboolean berth_volume_store_remove (BerthVolumeStore *store, const char *name, GError **error);

/* Docker's rule for a new volume mounted over a path of the image: when
 * @destination exists under @rootfs (resolved inside it, as the runtime
 * resolves mount points, so an image's symbolic links never lead out) and
 * @data_dir is empty, @data_dir takes the owner, mode and extended
 * attributes of that directory and a copy of its content (owners, modes,
 * times, extended attributes, symbolic links, hard links, device nodes,
 * FIFOs; nothing inside is followed). A missing path or a @data_dir with
 * content is left alone (*out_copied FALSE; may be NULL). */
gboolean berth_volume_populate (const char *rootfs, const char *destination, const char *data_dir,
                                gboolean *out_copied, GError **error);

/* What `-v` asks for (docker's syntax):
 *   /path                      a new anonymous volume at /path
 *   NAME:/path[:ro|:rw]        the named volume NAME (created on first use)
 *   /host/dir:/path[:ro|:rw]   a bind mount of a host directory */
typedef enum
{
  BERTH_VOLUME_SPEC_ANONYMOUS,
  BERTH_VOLUME_SPEC_NAMED,
  BERTH_VOLUME_SPEC_BIND,
} BerthVolumeSpecKind;

typedef struct
{
  BerthVolumeSpecKind kind;
  char *source;      /* the volume's name or the host path; NULL when anonymous */
  char *destination; /* absolute, normalized (no "." or "..", no double or trailing "/") */
  gboolean read_only;
} BerthVolumeSpec;

void berth_volume_spec_free (BerthVolumeSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthVolumeSpec, berth_volume_spec_free)

/* Parses one -v argument; InvalidArgument naming the problem (a relative
 * or root container path, a bad volume name, a relative host path, an
 * unknown mode). */
BerthVolumeSpec *berth_volume_spec_parse (const char *text, GError **error);
/* Whether @text asks for a host bind mount (decided as the parser does,
 * even when the rest is invalid): authorization looks at this. */
gboolean berth_volume_spec_is_bind (const char *text);
/* A container path made canonical: absolute, without ".", "..", double or
 * trailing slashes; "/" itself is refused. */
char *berth_volume_normalize_destination (const char *path, GError **error);

/* Parses a --volumes-from argument CONTAINER[:ro|:rw]: *out_read_only is
 * TRUE for :ro, FALSE for :rw, and left as it is without a mode (keep the
 * source's modes). */
gboolean berth_volume_from_parse (const char *text, char **out_container, gboolean *out_has_mode,
                                  gboolean *out_read_only, GError **error);

G_END_DECLS
