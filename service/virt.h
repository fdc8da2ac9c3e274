/* libvirt's own types with g_autoptr cleanups (as libvirt-dbus' util.h),
 * libvirt's last error as a GError, and a domain lookup whose "not found"
 * is an explicit result. Worker threads only. */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomain, virDomainFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virNetwork, virNetworkFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStorageVol, virStorageVolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStream, virStreamFree)

/* Sets error from libvirt's last error on this thread. Returns FALSE, so
 * that a failure path reads "return pvm_set_libvirt_error (...)". */
gboolean pvm_set_libvirt_error (GError **error, const char *what);

/* Looks up the domain project-VM_NAME. TRUE with *DOM NULL: there is none;
 * FALSE: the lookup itself failed. */
gboolean pvm_lookup_domain (virConnectPtr conn, const char *vm_name, virDomainPtr *dom,
                            GError **error);

G_END_DECLS
