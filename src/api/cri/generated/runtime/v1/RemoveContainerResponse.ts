// Original file: src/api/cri/generated/api.proto


export interface RemoveContainerResponse {
}

export interface RemoveContainerResponse__Output {
}
