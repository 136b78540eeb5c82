#!/usr/bin/env python3
"""Writes the small HDF5 files under train/tests/fixtures/data/ that the tests of the
HDF5 readers (train/tests/hdf5_readers.rs, train/tests/hdf5_fuzz.rs) read.

Run from the repository root:

    .venv/bin/python scripts/make_hdf5_fixtures.py

The files keep the group, attribute and dataset names of the two projects' documentation:

- The Well (https://polymathic-ai.org/the_well/data_format/): root attributes
  `dataset_name`, `grid_type`, `n_spatial_dims`, `n_trajectories`, `simulation_parameters`;
  groups `dimensions` (`spatial_dims`, `time`, one coordinate per axis),
  `boundary_conditions` (one subgroup per condition: `associated_dims`, `associated_fields`,
  `bc_type`, `sample_varying`, `time_varying`, `mask`), `scalars`, and `t0_fields`,
  `t1_fields`, `t2_fields` (`field_names`; each field with `dim_varying`, `sample_varying`,
  `time_varying`, and for order 2 `symmetric`, `antisymmetric`), arrays of shape
  `[B] [T] spatial... [D]^k`, float32.
- PDEBench's compressible Navier-Stokes files (https://github.com/pdebench/PDEBench,
  `pdebench/data_gen/data_gen_NLE/CompressibleFluid`): root datasets `density`, `pressure`,
  `Vx`, `Vy` [, `Vz`] of shape (N, T, X, Y [, Z]) and `t-coordinate` (T + 1 entries),
  `x-coordinate`, `y-coordinate` [, `z-coordinate`].

Every field array is chunked one frame per chunk and gzip-compressed (after HDF5's shuffle
filter), as the readers meet them. Values are a closed-form function the Rust tests recompute (`value` below): a few
Fourier modes advected across the periodic grid, with phases set by the field, the
trajectory and the component, rounded to multiples of 1/64 so that gzip finds the zero
low bytes of the float32 mantissas and the files stay small. A model can learn the
advection; a reader that transposes axes, swaps components or trajectories gets other
numbers.
"""

import os
import shutil

import h5py
import numpy as np

OUT = os.path.join("train", "tests", "fixtures", "data")

# Wave vectors of the three modes, per dimension, and the advection velocity in grid cells
# per frame (the Rust tests hold the same tables).
MODES = {
    2: [(1, 0), (0, 1), (1, 1)],
    3: [(1, 0, 0), (0, 1, 0), (1, 1, 1)],
}
VELOCITY = (1.0, 0.5, 0.25)
QUANTUM = 64.0
# h5py's default ("earliest": version-1 object headers, symbol-table groups, version-1 B-tree
# chunk indices, as h5py writes unless told otherwise) for well_2d and the 2-D PDEBench file;
# "latest" (version-2 object headers, link messages, fixed-array chunk indices, smaller files;
# with HDF5 >= 1.12 its booleans are enumerations of datatype version 4 or 5, which the
# readers rewrite for rust-hdf5) for the others, so the readers meet both. The committed files
# were written with h5py 3.16 and HDF5 2.0.0.
EARLIEST = "earliest"
LATEST = "latest"


def value(field, trajectory, frame, shape, component):
    """The values of one frame of one component, shape `shape` (the spatial sides).

    value = round(64 * sum_m cos(2 pi k_m . (i - u t) / n + phase_m) / (m + 1)) / 64,
    phase_m = 0.7 trajectory + 1.3 component + 0.5 m + 0.9 field, i the grid index and n the
    side of each axis.
    """
    dim = len(shape)
    index = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    total = np.zeros(shape, dtype=np.float64)
    for m, k in enumerate(MODES[dim]):
        phase = 0.7 * trajectory + 1.3 * component + 0.5 * m + 0.9 * field
        arg = sum(
            2.0 * np.pi * k[a] * (index[a] - VELOCITY[a] * frame) / shape[a] for a in range(dim)
        )
        total += np.cos(arg + phase) / (m + 1)
    return (np.floor(total * QUANTUM + 0.5) / QUANTUM).astype(np.float32)


def tensor_value(field, trajectory, frame, shape, k, symmetric=False):
    """One frame of an order-k field: shape `shape + (d,) * k`; component c = row-major index
    of (i, j, ...), for a symmetric order-2 field the index of (min, max)."""
    d = len(shape)
    out = np.zeros(tuple(shape) + (d,) * k, dtype=np.float32)
    for idx in np.ndindex(*((d,) * k)):
        if symmetric and k == 2:
            i, j = sorted(idx)
            c = i * d + j
        else:
            c = int(np.ravel_multi_index(idx, (d,) * k)) if k > 0 else 0
        out[(Ellipsis,) + idx] = value(field, trajectory, frame, shape, c)
    return out


def field_array(field, trajectories, frames, shape, k, time_varying=True, symmetric=False,
                first_trajectory=0):
    """[B] [T] spatial... [D]^k; a field that is not time-varying holds frame 0."""
    frames_list = range(frames) if time_varying else [0]
    data = np.stack([
        np.stack([tensor_value(field, first_trajectory + b, t, shape, k, symmetric)
                  for t in frames_list])
        for b in range(trajectories)
    ])
    if not time_varying:
        data = data[:, 0]
    return data


def chunked(group, name, data, frame_rank, dtype=None):
    """A dataset with one frame per chunk (1 along every axis before the last `frame_rank`,
    the grid and components), gzip-compressed."""
    data = np.asarray(data, dtype=dtype) if dtype is not None else np.asarray(data)
    leading = max(data.ndim - frame_rank, 0)
    chunks = tuple(1 if a < leading else n for a, n in enumerate(data.shape))
    return group.create_dataset(name, data=data, chunks=chunks, compression="gzip", shuffle=True)


def write_well(path, *, name, shape, trajectories, frames, dt, boundaries, fields,
               first_trajectory=0, skip=(), libver=LATEST):
    """A file of The Well.

    boundaries: list of (subgroup name, [axis names], bc_type).
    fields: list of dicts: name, k, field (phase id), time_varying (True),
      sample_varying (True), symmetric (False), dim_varying (None: all True), data (override),
      dtype (override).
    skip: parts to leave out ("dimensions", "boundary_conditions", field group names).
    """
    d = len(shape)
    axes = ["x", "y", "z"][:d]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with h5py.File(path, "w", libver=libver) as f:
        f.attrs["dataset_name"] = name
        f.attrs["grid_type"] = "cartesian"
        f.attrs["n_spatial_dims"] = d
        f.attrs["n_trajectories"] = trajectories
        f.attrs["simulation_parameters"] = ["Re"]
        f.attrs["Re"] = 100.0

        if "dimensions" not in skip:
            dims = f.create_group("dimensions")
            dims.attrs["spatial_dims"] = axes
            time = dims.create_dataset("time", data=(np.arange(frames) * dt).astype(np.float32))
            time.attrs["sample_varying"] = False
            for axis, n in zip(axes, shape):
                coord = dims.create_dataset(axis, data=np.linspace(0, 1, n, endpoint=False,
                                                                   dtype=np.float32))
                coord.attrs["sample_varying"] = False
                coord.attrs["time_varying"] = False

        if "boundary_conditions" not in skip:
            bcs = f.create_group("boundary_conditions")
            for group_name, bc_axes, bc_type in boundaries:
                g = bcs.create_group(group_name)
                g.attrs["associated_dims"] = bc_axes
                g.attrs["associated_fields"] = []
                g.attrs["bc_type"] = bc_type
                g.attrs["sample_varying"] = False
                g.attrs["time_varying"] = False
                first = bc_axes[0]
                axis = axes.index(first.decode() if isinstance(first, bytes) else first)
                mask = np.zeros(shape[axis], dtype=bool)
                mask[0] = mask[-1] = True
                g.create_dataset("mask", data=mask)

        scalars = f.create_group("scalars")
        scalars.attrs["field_names"] = ["Re"]
        re = scalars.create_dataset("Re", data=np.float32(100.0))
        re.attrs["sample_varying"] = False
        re.attrs["time_varying"] = False

        for k in range(3):
            group_name = f"t{k}_fields"
            if group_name in skip:
                continue
            group = f.create_group(group_name)
            names = [spec["name"] for spec in fields if spec["k"] == k]
            group.attrs["field_names"] = names
            for spec in fields:
                if spec["k"] != k:
                    continue
                time_varying = spec.get("time_varying", True)
                sample_varying = spec.get("sample_varying", True)
                if "data" in spec:
                    data = spec["data"]
                else:
                    data = field_array(spec["field"], trajectories, frames, shape, k,
                                       time_varying, spec.get("symmetric", False),
                                       first_trajectory)
                    if not sample_varying:
                        data = data[0]
                ds = chunked(group, spec["name"], data, d + k, spec.get("dtype"))
                ds.attrs["dim_varying"] = np.array(spec.get("dim_varying", [True] * d))
                ds.attrs["sample_varying"] = sample_varying
                ds.attrs["time_varying"] = time_varying
                if k == 2:
                    ds.attrs["symmetric"] = spec.get("symmetric", False)
                    ds.attrs["antisymmetric"] = False


def write_pdebench(path, *, shape, samples, frames, dt, libver=LATEST):
    """A PDEBench compressible Navier-Stokes file: density (field 0), pressure (field 1),
    Vx, Vy [, Vz] (field 2, components 0, 1 [, 2]); density and pressure offset by 2."""
    d = len(shape)
    with h5py.File(path, "w", libver=libver) as f:
        for name, field, offset in (("density", 0, 2.0), ("pressure", 1, 2.0)):
            data = field_array(field, samples, frames, shape, 0) + np.float32(offset)
            chunked(f, name, data, d)
        velocity = field_array(2, samples, frames, shape, 1)
        for c, name in enumerate(["Vx", "Vy", "Vz"][:d]):
            chunked(f, name, velocity[..., c], d)
        f.create_dataset("t-coordinate", data=(np.arange(frames + 1) * dt).astype(np.float32))
        for axis, n in zip("xyz", shape):
            f.create_dataset(f"{axis}-coordinate",
                             data=np.linspace(0, 1, n, endpoint=False, dtype=np.float32))


def periodic(d):
    return [(f"{a}_periodic", [a], "PERIODIC") for a in "xyz"[:d]]


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    # well_2d: The Well's layout data/{train,valid,test}/*.hdf5; fields t0 buoyancy (field 0),
    # pressure (1), t1 velocity (2), constant t0 obstacle (3, sample-varying, frame 0).
    # Trajectory b of a part is trajectory first + b of the closed form (train 0, valid 3,
    # test 5).
    well_fields = [
        dict(name="buoyancy", k=0, field=0),
        dict(name="pressure", k=0, field=1),
        dict(name="obstacle", k=0, field=3, time_varying=False),
        dict(name="velocity", k=1, field=2),
    ]
    for part, trajectories, first in (("train", 3, 0), ("valid", 2, 3), ("test", 2, 5)):
        write_well(os.path.join(OUT, "well_2d", "data", part, "a.hdf5"), name="well_2d",
                   shape=(16, 16), trajectories=trajectories, frames=8, dt=0.25,
                   boundaries=periodic(2), fields=well_fields, first_trajectory=first,
                   libver=EARLIEST)

    # well_3d_k2: 3-D, t0 density (0), t1 velocity (1), t2 symmetric stress (2).
    write_well(os.path.join(OUT, "well_3d_k2.hdf5"), name="well_3d_k2", shape=(8, 8, 8),
               trajectories=4, frames=6, dt=0.5, boundaries=periodic(3),
               fields=[dict(name="density", k=0, field=0),
                       dict(name="velocity", k=1, field=1),
                       dict(name="stress", k=2, field=2, symmetric=True)])

    # well_2d_walls: x periodic, y wall; t0 temperature (0), t1 velocity (1). The wall's
    # attributes are fixed-length strings (numpy bytes), as other writers than h5py's lists
    # of str produce.
    write_well(os.path.join(OUT, "well_2d_walls.hdf5"), name="well_2d_walls", shape=(16, 16),
               trajectories=4, frames=6, dt=0.1,
               boundaries=[("x_periodic", ["x"], "PERIODIC"),
                           ("y_wall", np.array([b"y"], dtype="S1"), np.bytes_(b"WALL"))],
               fields=[dict(name="temperature", k=0, field=0),
                       dict(name="velocity", k=1, field=1)])

    # PDEBench, named as PDEBench names its compressible Navier-Stokes files.
    write_pdebench(os.path.join(OUT, "2D_CFD_Rand_M0.1_Eta0.01_Zeta0.01_periodic_16_Train.hdf5"),
                   shape=(16, 16), samples=5, frames=8, dt=0.05, libver=EARLIEST)
    write_pdebench(os.path.join(OUT, "3D_CFD_Rand_M1.0_Eta1e-08_Zeta1e-08_periodic_8_Train.hdf5"),
                   shape=(8, 8, 8), samples=4, frames=5, dt=0.1)

    # Damaged files, one per error the readers report: 2-D 8x8, 2 trajectories, 3 frames,
    # t0 density (0), t1 velocity (1).
    errors = os.path.join(OUT, "errors")
    small = dict(name="errors", shape=(8, 8), trajectories=2, frames=3, dt=1.0,
                 boundaries=periodic(2))
    base = [dict(name="density", k=0, field=0), dict(name="velocity", k=1, field=1)]
    write_well(os.path.join(errors, "well_no_dimensions.hdf5"), skip=("dimensions",),
               fields=base, **small)
    write_well(os.path.join(errors, "well_no_fields.hdf5"),
               skip=("t0_fields", "t1_fields", "t2_fields"), fields=base, **small)
    # velocity without its component axis: (B, T, X, Y).
    write_well(os.path.join(errors, "well_bad_rank.hdf5"),
               fields=[base[0], dict(base[1], data=field_array(1, 2, 3, (8, 8), 0))], **small)
    write_well(os.path.join(errors, "well_int32.hdf5"),
               fields=[dict(base[0], data=np.ones((2, 3, 8, 8), dtype=np.int32)), base[1]],
               **small)
    nan = field_array(0, 2, 3, (8, 8), 0)
    nan[1, 2, 3, 4] = np.nan
    write_well(os.path.join(errors, "well_nan.hdf5"), fields=[dict(base[0], data=nan), base[1]],
               **small)
    # y has no boundary condition.
    write_well(os.path.join(errors, "well_no_bc_y.hdf5"), fields=base,
               **dict(small, boundaries=[("x_periodic", ["x"], "PERIODIC")]))
    # A field defined on x only (dim_varying [True, False]): shape (B, T, X).
    write_well(os.path.join(errors, "well_lower_dim.hdf5"),
               fields=[base[0], base[1],
                       dict(name="profile", k=0, field=2, dim_varying=[True, False],
                            data=field_array(2, 2, 3, (8, 8), 0)[..., 0])], **small)
    # A velocity whose grid is 8x6 while the others are 8x8.
    write_well(os.path.join(errors, "well_bad_side.hdf5"),
               fields=[base[0], dict(base[1], data=field_array(1, 2, 3, (8, 6), 1))], **small)
    # The first half of the bytes of a valid file.
    valid = os.path.join(OUT, "well_2d_walls.hdf5")
    with open(valid, "rb") as f:
        content = f.read()
    with open(os.path.join(errors, "well_truncated.hdf5"), "wb") as f:
        f.write(content[: len(content) // 2])

    total = 0
    for root, _, files in os.walk(OUT):
        for name in sorted(files):
            path = os.path.join(root, name)
            total += os.path.getsize(path)
            print(f"{os.path.getsize(path):8d}  {path}")
    print(f"{total:8d}  total")


if __name__ == "__main__":
    main()
