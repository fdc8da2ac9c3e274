#!/bin/bash
# The bash way to make a project VM, the same pieces project-vm create makes:
# a qcow2 overlay over the base image, a qcow2 project disk, a cloud-init
# seed ISO written from files (genisoimage, else xorriso), and a libvirt
# domain defined from XML. Not started.
#   bash-create.sh DOMAIN DIR BASE_IMAGE SSH_PUBKEY_FILE [MEMORY_MIB] [CPUS] [DISK]
set -euo pipefail
name=$1 dir=$2 base=$3 key=$4 memory=${5:-256} cpus=${6:-1} disk=${7:-1G}
uri=${LIBVIRT_DEFAULT_URI:-qemu:///system}
umask 077
mkdir -p "$dir"
root="$dir/$name-root.qcow2" data="$dir/$name-data.qcow2"
seed="$dir/$name-seed.iso" log="$dir/$name-console.log"

qemu-img create -q -f qcow2 -b "$base" -F qcow2 "$root"
qemu-img create -q -f qcow2 "$data" "$disk"

src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
cat > "$src/meta-data" <<META
instance-id: "$name-$(date +%s%N)"
local-hostname: "$name"
META
cat > "$src/user-data" <<USER
#cloud-config
hostname: "$name"
preserve_hostname: false
users:
  - name: dev
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    shell: /bin/bash
    lock_passwd: true
    ssh_authorized_keys:
      - "$(cat "$key")"
disk_setup:
  /dev/disk/by-id/virtio-project:
    table_type: gpt
    layout: true
    overwrite: false
fs_setup:
  - label: project
    filesystem: ext4
    device: /dev/disk/by-id/virtio-project
    partition: auto
    overwrite: false
mounts:
  - ["LABEL=project", "/home/dev/project", "ext4", "defaults,nofail", "0", "2"]
runcmd:
  - [chown, "--", "dev:", "/home/dev", "/home/dev/project"]
final_message: "PROJECT_VM_READY cloud-init \$VERSION finished at \$TIMESTAMP"
USER
echo "# DHCP on the primary NIC through cloud-init's fallback" > "$src/network-config"
if command -v genisoimage >/dev/null; then
    genisoimage -quiet -output "$seed" -volid cidata -joliet -rock \
        "$src/meta-data" "$src/user-data" "$src/network-config"
else
    xorriso -as mkisofs -quiet -output "$seed" -volid cidata -joliet -rock \
        "$src/meta-data" "$src/user-data" "$src/network-config"
fi

cat > "$dir/$name.xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>$memory</memory>
  <vcpu>$cpus</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='$root'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='$data'/><target dev='vdb' bus='virtio'/><serial>project</serial></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/>
      <source file='$seed'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='network'><source network='default'/><model type='virtio'/></interface>
    <serial type='pty'><log file='$log' append='off'/><target port='0'/></serial>
    <console type='pty'><target type='serial'/></console>
  </devices>
</domain>
XML
virsh -q -c "$uri" define "$dir/$name.xml" >/dev/null
