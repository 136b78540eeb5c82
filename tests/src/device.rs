//! The burn device of the tests that run burn modules, named by the environment variable
//! [`VARIABLE`] (`GINRS_TEST_DEVICE`): `flex` (burn's CPU backend; the default when unset),
//! `wgpu` or `cuda`. A GPU device exists only in a build with the feature of its name
//! (`--features ginrs-tests/wgpu`); naming one the build lacks is an error, never a quiet
//! fallback to flex.

use burn::tensor::Device;

/// The environment variable that names the device.
pub const VARIABLE: &str = "GINRS_TEST_DEVICE";

/// A device the tests can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestDevice {
    /// burn's pure-Rust CPU backend, the only device of ginrs-train's fused route.
    Flex,
    /// burn's wgpu backend on wgpu's default adapter (feature `wgpu`).
    Wgpu,
    /// burn's CUDA backend on GPU 0 (feature `cuda`).
    Cuda,
}

/// Why [`VARIABLE`] names no device of this build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The value is not a device's name.
    #[error("{VARIABLE}={0:?} names no device: use flex, wgpu or cuda")]
    Unknown(String),
    /// The device's feature is not in this build.
    #[error(
        "{VARIABLE}={name}, but this build has no {name} device: build the tests with \
         `--features ginrs-tests/{name}`"
    )]
    NotBuilt {
        /// The device's name, which is also its feature's.
        name: &'static str,
    },
}

impl TestDevice {
    /// The device [`VARIABLE`] names (flex when it is unset or empty).
    pub fn from_env() -> Result<Self, DeviceError> {
        match std::env::var(VARIABLE) {
            Ok(value) => Self::parse(&value),
            Err(std::env::VarError::NotPresent) => Ok(Self::Flex),
            Err(std::env::VarError::NotUnicode(value)) => {
                Err(DeviceError::Unknown(value.to_string_lossy().into_owned()))
            }
        }
    }

    /// The device of a name: `flex` (or empty), `wgpu` or `cuda`.
    pub fn parse(name: &str) -> Result<Self, DeviceError> {
        match name {
            "" | "flex" => Ok(Self::Flex),
            "wgpu" => Ok(Self::Wgpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(DeviceError::Unknown(other.to_string())),
        }
    }

    /// The device's name, as [`VARIABLE`] and the features spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
        }
    }

    /// The burn device (without autodiff), or [`DeviceError::NotBuilt`] when this build lacks
    /// its feature.
    pub fn device(self) -> Result<Device, DeviceError> {
        match self {
            Self::Flex => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(feature = "cuda")]
            Self::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)]
            other => Err(DeviceError::NotBuilt { name: other.name() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_round_trip() {
        for device in [TestDevice::Flex, TestDevice::Wgpu, TestDevice::Cuda] {
            assert_eq!(TestDevice::parse(device.name()), Ok(device));
        }
        assert_eq!(TestDevice::parse(""), Ok(TestDevice::Flex));
        assert_eq!(
            TestDevice::parse("vulkan"),
            Err(DeviceError::Unknown("vulkan".to_string()))
        );
    }

    #[test]
    fn a_device_outside_the_build_is_an_error() {
        assert!(TestDevice::Flex.device().is_ok());
        #[cfg(not(feature = "wgpu"))]
        assert_eq!(
            TestDevice::Wgpu.device(),
            Err(DeviceError::NotBuilt { name: "wgpu" })
        );
        #[cfg(not(feature = "cuda"))]
        assert_eq!(
            TestDevice::Cuda.device(),
            Err(DeviceError::NotBuilt { name: "cuda" })
        );
    }
}
